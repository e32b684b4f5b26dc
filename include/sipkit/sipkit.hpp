// Umbrella header: the whole parser layer. Layers above add their own umbrella includes.
#pragma once

#include "sipkit/log.hpp"
#include "sipkit/parser/error.hpp"
#include "sipkit/parser/headers.hpp"
#include "sipkit/parser/limits.hpp"
#include "sipkit/parser/message.hpp"
#include "sipkit/parser/message_view.hpp"
#include "sipkit/parser/stream_framer.hpp"
#include "sipkit/parser/uri.hpp"
