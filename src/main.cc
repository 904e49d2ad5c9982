#include "basalt/cli/cli.h"

int main(int argc, char** argv) { return basalt::cli::run(argc, argv); }
