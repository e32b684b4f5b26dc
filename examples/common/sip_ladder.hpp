// Shared by the example programs: turns the transport's debug trace ("SENT to ...",
// "RECEIVED from ..." with the whole message) into one ladder line per SIP message,
//
//   [08:15:02.012] RECEIVED from udp 127.0.0.1:5070  INVITE sip:uas@127.0.0.1:5062 SIP/2.0
//   [08:15:02.013] SENT to udp 127.0.0.1:5070  SIP/2.0 180 Ringing
//
// (wall-clock time, so the ladders of two programs on one machine line up)
// and lets every other log record through to stderr. With `full` the whole message is
// printed under its ladder line. Copy it along with the example you start from.
#pragma once

#include <cctype>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <string>
#include <string_view>

#include "sipkit/log.hpp"

namespace example {

inline sipkit::log_sink ladder_sink(bool quiet, bool full) {
  return [=](const sipkit::log_record& r) {
    const std::string_view text = r.text;
    const bool sent = text.starts_with("SENT to ");
    const bool received = text.starts_with("RECEIVED from ");
    if (!sent && !received) {
      if (r.level >= sipkit::log_level::info)
        std::fprintf(stderr, "sipkit %s [%.*s] %.*s\n", std::string(to_string(r.level)).c_str(),
                     static_cast<int>(r.component.size()), r.component.data(),
                     static_cast<int>(text.size()), text.data());
      return;
    }
    if (quiet) return;
    // "SENT to UDP 127.0.0.1:5070 (123 bytes) local 127.0.0.1:5062:\n<message>"
    const auto head_end = text.find(" (");
    const auto body_start = text.find(":\n");
    if (head_end == std::string_view::npos || body_start == std::string_view::npos) return;
    std::string head(text.substr(0, head_end));
    const auto proto_at = head.find(' ', sent ? 5 : 9) + 1;  // after "SENT to" / "RECEIVED from"
    for (std::size_t i = proto_at; i < head.size() && head[i] != ' '; ++i)
      head[i] = static_cast<char>(std::tolower(static_cast<unsigned char>(head[i])));
    const std::string_view msg = text.substr(body_start + 2);
    const std::string_view first_line = msg.substr(0, msg.find("\r\n"));
    const auto now = std::chrono::system_clock::now();
    const std::time_t secs = std::chrono::system_clock::to_time_t(now);
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()) % 1000;
    std::tm local{};
    localtime_r(&secs, &local);
    std::printf("[%02d:%02d:%02d.%03d] %s  %.*s\n", local.tm_hour, local.tm_min, local.tm_sec,
                static_cast<int>(ms.count()), head.c_str(), static_cast<int>(first_line.size()),
                first_line.data());
    if (full) std::printf("%.*s\n", static_cast<int>(msg.size()), msg.data());
    std::fflush(stdout);
  };
}

}  // namespace example
