// Re-allocating a message at its exact size, for the machines' compact(). Private.
#pragma once

#include "sipkit/parser/message.hpp"

namespace sipkit::transaction::detail {

/// A message built or edited grew its buffer and header table by appending (up to twice
/// what it uses); shrink_to_fit reallocates both at what they use, without the typed-view
/// record (about 240 bytes) a copy would keep. A parsed, unmodified message
/// (message::from_view) is exact already: left alone, which saves two allocations.
inline void to_exact_size(parser::message& m) {
  if (m.modified() && !m.fields().empty()) m.shrink_to_fit();
}

}  // namespace sipkit::transaction::detail
