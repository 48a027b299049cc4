{
  "targets": [
    {
      "target_name": "iomodes",
      "sources": [
        "native/addon.cc",
        "native/fd.cc",
        "native/blocking.cc",
        "native/nonblocking.cc",
        "native/system.cc",
        "native/multiplex.cc",
        "native/watcher.cc",
        "native/signal.cc",
        "native/async.cc",
        "native/inflight.cc",
        "native/uring.cc",
        "native/aio.cc",
        "native/direct.cc",
        "native/threadpool.cc",
        "native/posix_aio.cc"
      ],
      # C++ exception mode: none. The plain `node_addon_api` target defines
      # NAPI_DISABLE_CPP_EXCEPTIONS, so a binding never unwinds through C++:
      # syscall failures return -errno as a number (the TypeScript layer builds
      # the IoError), and the rare argument error is thrown as a pending JS
      # exception followed by `return`. No exception can escape into libuv.
      # NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS: while a Worker terminates, an
      # argument error cannot be thrown; node-addon-api then drops it instead
      # of aborting the whole process (reliability anchors P6).
      "dependencies": [
        "<!(node -p \"require('node-addon-api').targets\"):node_addon_api"
      ],
      "defines": ["NAPI_VERSION=8", "_GNU_SOURCE", "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      # Never unloaded: the signal handlers of signal-driven I/O stay installed
      # for the life of the process (a dup of an enabled fd may still signal),
      # and Node dlcloses an addon when the last thread that loaded it exits.
      "ldflags": ["-Wl,-z,nodelete"],
      "cflags_cc!": ["-fno-rtti"]
    }
  ]
}
