# One switch for the whole tree: the sanitizer build of the test suite in CI.
# UBSan's vptr check is left out: it probes memory through a pipe, so while a process is
# out of file descriptors (the EMFILE accept back-off test in tests/transport) every
# virtual call is reported as an "invalid vptr" (a false positive, reproduced with a
# ten-line program). ASan and every other UBSan check stay on.
if(SIPKIT_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-sanitize=vptr -fno-omit-frame-pointer
                      -fno-sanitize-recover=all)
  add_link_options(-fsanitize=address,undefined -fno-sanitize=vptr)
endif()
