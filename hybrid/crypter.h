// §9.1: the encrypted channel after the handshake: AES-256-GCM per direction, a message
// counter per direction in the nonce, 32-byte padding inside.
#pragma once

#include "base/bytes.h"
#include "hybrid/noise.h"

namespace hybrid {

enum class CrypterError { exhausted = 1, decrypt_failed = 2, bad_padding = 3 };
HYBRID_ERROR_DOMAIN(CrypterError, "crypter")

class Crypter {
 public:
  enum class Role { client, phone };
  Crypter(const TrafficKeys& keys, Role role);
  Crypter(ByteView read_key, ByteView write_key);

  // Pads and encrypts one message with the next write counter.
  Result<Bytes> encrypt(ByteView message);
  // Decrypts and unpads one message. The counter advances only on success, so a replayed,
  // reordered or forged message fails and later in-order messages still decrypt.
  Result<Bytes> decrypt(ByteView ciphertext);

  // Accept the 2021 construction (AD 0x02, little-endian counter in the nonce's first
  // bytes) on the very first inbound message only; the channel then stays in that mode.
  void accept_old_construction_on_first_message(bool on) { accept_old_ = on; }
  bool uses_old_construction() const { return old_; }

  uint32_t read_counter() const { return read_counter_; }
  uint32_t write_counter() const { return write_counter_; }
  // For tests of the counter limit.
  void set_counters_for_testing(uint32_t read, uint32_t write) {
    read_counter_ = read;
    write_counter_ = write;
  }

 private:
  ByteArray<12> nonce(uint32_t counter) const;
  SecretBytes read_key_;
  SecretBytes write_key_;
  uint32_t read_counter_ = 0;
  uint32_t write_counter_ = 0;
  bool accept_old_ = false;
  bool old_ = false;
};

}  // namespace hybrid
