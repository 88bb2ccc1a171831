#include "hybrid/crypter.h"

#include "crypto/primitives.h"
#include "hybrid/constants.h"
#include "hybrid/padding.h"

namespace hybrid {

namespace {
const uint8_t kOldAd = 0x02;
}

Crypter::Crypter(const TrafficKeys& keys, Role role)
    : read_key_(role == Role::client ? keys.phone_to_client : keys.client_to_phone),
      write_key_(role == Role::client ? keys.client_to_phone : keys.phone_to_client) {}

Crypter::Crypter(ByteView read_key, ByteView write_key) : read_key_(read_key), write_key_(write_key) {}

ByteArray<12> Crypter::nonce(uint32_t counter) const {
  ByteArray<12> n{};
  if (old_) {
    n[0] = uint8_t(counter);
    n[1] = uint8_t(counter >> 8);
    n[2] = uint8_t(counter >> 16);
    n[3] = uint8_t(counter >> 24);
  } else {
    n[8] = uint8_t(counter >> 24);
    n[9] = uint8_t(counter >> 16);
    n[10] = uint8_t(counter >> 8);
    n[11] = uint8_t(counter);
  }
  return n;
}

Result<Bytes> Crypter::encrypt(ByteView message) {
  if (write_counter_ > kMaxCrypterCounter) {
    return make_error(CrypterError::exhausted, "the channel has sent its maximum number of messages");
  }
  auto padded = pad_message(message);
  ByteView ad = old_ ? ByteView(&kOldAd, 1) : ByteView();
  auto out = crypto::aes256_gcm_seal(write_key_, nonce(write_counter_), ad, padded);
  secure_wipe(padded.data(), padded.size());
  ++write_counter_;
  return out;
}

Result<Bytes> Crypter::decrypt(ByteView ciphertext) {
  if (read_counter_ > kMaxCrypterCounter) {
    return make_error(CrypterError::exhausted, "the channel has received its maximum number of messages");
  }
  ByteView ad = old_ ? ByteView(&kOldAd, 1) : ByteView();
  auto padded = crypto::aes256_gcm_open(read_key_, nonce(read_counter_), ad, ciphertext);
  if (!padded && accept_old_ && read_counter_ == 0 && write_counter_ == 0 && !old_) {
    old_ = true;
    padded = crypto::aes256_gcm_open(read_key_, nonce(0), ByteView(&kOldAd, 1), ciphertext);
    if (!padded) old_ = false;
  }
  accept_old_ = false;
  if (!padded) {
    return make_error(CrypterError::decrypt_failed,
                      "a channel message did not decrypt (tampered, replayed or out of order)");
  }
  auto message = unpad_message(*padded);
  secure_wipe(padded->data(), padded->size());
  if (!message) return make_error(CrypterError::bad_padding, message.error().message);
  ++read_counter_;
  return message;
}

}  // namespace hybrid
