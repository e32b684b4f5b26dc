// The dialogs a UA has, by dialog id (RFC 3261 §12), with a bound on how many.
//
//   dialog_table<call_state> calls(10000);
//   auto [entry, inserted] = calls.insert(std::move(d), call_state{...});
//   if (auto* e = calls.find_for_request(bye)) ... else reply(481);   // §12.2.2
//
// Each entry holds the dialog and the application's value `T` (the UA's call or
// subscription state). Forking (§12.2.1.2, §13.2.2.4) gives one INVITE several dialogs
// with the same Call-ID and local tag and different remote tags: they are simply several
// entries. Lookups are O(1) on average (std::unordered_map on the three id strings).
//
// Ownership: the table owns its entries; pointers stay valid until that entry is erased
// (node-based map: inserting others does not move it). Thread safety: none.
// Errors: insert() returns {nullptr, false} when the table is full (the caller answers
// 503 or refuses the call) and {existing, false} when the id is taken.
#pragma once

#include <cstddef>
#include <optional>
#include <unordered_map>
#include <utility>

#include "sipkit/dialog/dialog.hpp"

namespace sipkit::dialog {

template <class T>
class dialog_table {
 public:
  struct entry {
    sipkit::dialog::dialog dialog;
    T value;
  };

  explicit dialog_table(std::size_t max_dialogs = 65536) : max_(max_dialogs) {}

  std::pair<entry*, bool> insert(sipkit::dialog::dialog d, T value) {
    if (auto it = map_.find(d.id()); it != map_.end()) return {&it->second, false};
    if (map_.size() >= max_) return {nullptr, false};
    dialog_id key = d.id();
    auto [it, ok] = map_.emplace(std::move(key), entry{std::move(d), std::move(value)});
    return {&it->second, ok};
  }

  entry* find(const dialog_id& id) noexcept {
    auto it = map_.find(id);
    return it == map_.end() ? nullptr : &it->second;
  }
  /// The dialog of a request the peer sent (§12.2.2); nullptr: answer 481.
  entry* find_for_request(const parser::message& request) {
    auto id = incoming_request_dialog_id(request);
    return id ? find(*id) : nullptr;
  }
  /// The dialog of a response to a request we sent.
  entry* find_for_response(const parser::message& response) {
    auto id = incoming_response_dialog_id(response);
    return id ? find(*id) : nullptr;
  }

  bool erase(const dialog_id& id) { return map_.erase(id) > 0; }
  std::size_t size() const noexcept { return map_.size(); }
  bool full() const noexcept { return map_.size() >= max_; }
  std::size_t capacity() const noexcept { return max_; }

  template <class F>
  void for_each(F&& f) {
    for (auto& [id, e] : map_) f(e);
  }

 private:
  std::size_t max_;
  std::unordered_map<dialog_id, entry, dialog_id_hash, dialog_id_equal> map_;
};

}  // namespace sipkit::dialog
