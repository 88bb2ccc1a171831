// Every wire constant of the hybrid (caBLE v2) transport, with the spec section
// (docs/protocol.md) that defines it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace hybrid {

// §4: sizes.
inline constexpr size_t kQrSecretSize = 16;
inline constexpr size_t kEidKeySize = 64;         // 32 AES-256 key ‖ 32 HMAC key
inline constexpr size_t kTunnelIdSize = 16;
inline constexpr size_t kPskSize = 32;
inline constexpr size_t kRoutingIdSize = 3;
inline constexpr size_t kNonceSize = 10;          // advert nonce
inline constexpr size_t kAdvertSize = 20;         // 16-byte AES block ‖ 4-byte HMAC tag
inline constexpr size_t kAdvertPlaintextSize = 16;
inline constexpr size_t kLinkIdSize = 8;          // "pairing ID"
inline constexpr size_t kLinkSecretSize = 32;
inline constexpr size_t kClientNonceSize = 16;
inline constexpr size_t kRootSecretSize = 32;
inline constexpr size_t kHandshakeHashSize = 32;
inline constexpr size_t kP256UncompressedSize = 65;
inline constexpr size_t kP256CompressedSize = 33;

// §5.1: BLE service UUIDs carrying the advert as service data.
inline constexpr uint16_t kFidoServiceUuid16 = 0xFFF9;    // FIDO SDO
inline constexpr uint16_t kGoogleServiceUuid16 = 0xFDE2;  // Google (legacy)
inline constexpr std::string_view kFidoServiceUuid = "0000fff9-0000-1000-8000-00805f9b34fb";
inline constexpr std::string_view kGoogleServiceUuid = "0000fde2-0000-1000-8000-00805f9b34fb";

// §6.1: assigned tunnel-server domains (encoded values 0 and 1); 2..255 are invalid.
inline constexpr std::string_view kAssignedTunnelDomains[] = {"cable.ua5v.com", "cable.auth.com"};
inline constexpr uint16_t kFirstHashedDomainId = 256;
// §6.2: prefix hashed to make a tunnel-server name from a value ≥ 256.
inline constexpr std::string_view kHashedDomainPrefix = "caBLEv2 tunnel server domain";

// §7.1–7.2: tunnel-service WebSocket protocol.
inline constexpr std::string_view kWebSocketProtocol = "fido.cable";
inline constexpr std::string_view kRoutingIdHeader = "X-caBLE-Routing-ID";
inline constexpr std::string_view kClientPayloadHeader = "X-caBLE-Client-Payload";
inline constexpr std::string_view kSignalConnectionHeader = "X-caBLE-Signal-Connection";
inline constexpr std::string_view kNewTunnelPath = "/cable/new/";
inline constexpr std::string_view kConnectPath = "/cable/connect/";
inline constexpr std::string_view kContactPath = "/cable/contact/";
inline constexpr uint8_t kConnectSignal = 0x00;  // §7.3: "phone connected" message

// §8.1: Noise protocol names and prologues.
inline constexpr std::string_view kNoiseKNpsk0 = "Noise_KNpsk0_P256_AESGCM_SHA256";
inline constexpr std::string_view kNoiseNKpsk0 = "Noise_NKpsk0_P256_AESGCM_SHA256";
inline constexpr uint8_t kPrologueQr = 0x01;
inline constexpr uint8_t kPrologueLinked = 0x00;
inline constexpr size_t kHandshakeMessageSize = 81;  // 65-byte point ‖ 16-byte tag

// §9.1: transport crypter.
inline constexpr uint32_t kMaxCrypterCounter = (1u << 24) - 1;
inline constexpr size_t kPaddingGranularity = 32;                 // §9.2
inline constexpr size_t kPostHandshakePaddingGranularity = 512;   // §9.4 (revision 0)
inline constexpr size_t kOldPostHandshakePaddingGranularity = 256;
// §9.6: the Update message is padded so that its ciphertext is always this long.
inline constexpr size_t kUpdatePlaintextMax = 511;

// §7.4: the largest tunnel message a client accepts (Chromium).
inline constexpr size_t kMaxTunnelMessageSize = 1 << 20;

// §12: the client keeps the socket this long after its Shutdown for late Updates.
inline constexpr int kLateUpdateWindowSeconds = 180;

}  // namespace hybrid
