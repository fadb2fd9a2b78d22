#pragma once
/// The signer and verifier interfaces live in the vocabulary (protocols/common/signer.hpp), so
/// that protocols/common never includes crypto/ (design.md section 3: crypto/ uses common, not
/// the other way round). This header keeps the crypto/ spelling for its users.
#include "protocols/common/signer.hpp"
