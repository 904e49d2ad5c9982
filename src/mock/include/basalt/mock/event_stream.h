#pragma once
/// The mock speaks Bedrock's event-stream framing through the one implementation in
/// api/bedrock; these names keep the mock's code and tests reading as before.

#include "basalt/api/bedrock/event_stream.h"

namespace basalt::mock {

using api::bedrock::crc32;
using api::bedrock::decodeEventStream;
using api::bedrock::decodeEventStreamMessage;
using api::bedrock::encodeBedrockEvent;
using api::bedrock::encodeBedrockException;
using api::bedrock::encodeEventStreamMessage;
using api::bedrock::EventStreamHeader;
using api::bedrock::EventStreamMessage;

}  // namespace basalt::mock
