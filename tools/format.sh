#!/usr/bin/env bash
# Formats every tracked C++ source with the project's .clang-format.
cd "$(dirname "${BASH_SOURCE[0]}")/.." && git ls-files '*.cpp' '*.hpp' | xargs -r clang-format -i
