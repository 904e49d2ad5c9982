# basalt_module(NAME SOURCES ... DEPS ... [BOOST_PCH])
# One module = one static library `basalt_<NAME>` with public headers in
# src/<NAME>/include/basalt/<NAME>/. BOOST_PCH gives it the precompiled Asio/Beast header.
function(basalt_module name)
  cmake_parse_arguments(M "BOOST_PCH" "" "SOURCES;DEPS" ${ARGN})
  add_library(basalt_${name} STATIC ${M_SOURCES})
  target_include_directories(basalt_${name} PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/include)
  target_link_libraries(basalt_${name} PUBLIC ${M_DEPS})
  if(M_BOOST_PCH)
    target_precompile_headers(basalt_${name} PRIVATE ${PROJECT_SOURCE_DIR}/cmake/boost_pch.h)
  endif()
endfunction()

# basalt_test(NAME SOURCES ... DEPS ... [BOOST_PCH])
# One GoogleTest binary per module; ctest runs the binaries in parallel.
function(basalt_test name)
  cmake_parse_arguments(T "BOOST_PCH" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE ${T_DEPS} GTest::gtest GTest::gmock GTest::gtest_main)
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/test)
  target_compile_definitions(${name} PRIVATE BASALT_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
    BASALT_BINARY="${CMAKE_BINARY_DIR}/basalt")
  if(T_BOOST_PCH)
    target_precompile_headers(${name} PRIVATE ${PROJECT_SOURCE_DIR}/cmake/boost_pch.h)
  endif()
  add_test(NAME ${name} COMMAND ${name})
endfunction()
