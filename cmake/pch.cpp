// Compiled only to build the precompiled headers (cmake/VigilPch.cmake).
