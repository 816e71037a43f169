"""PyInstaller hook for the LiveKit SDK (`livekit.rtc`).

The SDK opens its native FFI library (`liblivekit_ffi.so`, `liblivekit_ffi.dylib` or
`livekit_ffi.dll`) from the package `livekit.rtc.resources` through importlib.resources.
No import statement names that package, so it is added here, and the library is collected
into the same folder it came from.
"""

from PyInstaller.utils.hooks import collect_dynamic_libs

hiddenimports = ["livekit.rtc.resources"]
binaries = collect_dynamic_libs("livekit.rtc")
