// Reads test input files from the source tree (paths come from CMake definitions).
#pragma once

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

namespace sipkit::test {

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open test file " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline std::string rfc4475(const std::string& name) {
  return read_file(std::string(SIPKIT_RFC4475_DIR) + "/" + name);
}

}  // namespace sipkit::test
