// The integer map keys of the CTAP2 commands and responses this project speaks (CTAP 2.2
// §6.1, §6.2, §6.4). One table, used by the message codecs in ctap/ and by the bridge's
// CTAP front, so a key is never spelled as a bare number twice.
#pragma once

namespace hybrid::ctap::keys {

namespace get_info {
inline constexpr int versions = 0x01;
inline constexpr int extensions = 0x02;
inline constexpr int aaguid = 0x03;
inline constexpr int options = 0x04;
inline constexpr int max_msg_size = 0x05;
inline constexpr int pin_uv_auth_protocols = 0x06;
inline constexpr int max_credential_count_in_list = 0x07;
inline constexpr int max_credential_id_length = 0x08;
inline constexpr int transports = 0x09;
inline constexpr int algorithms = 0x0a;
}  // namespace get_info

namespace make_credential {
inline constexpr int client_data_hash = 0x01;
inline constexpr int rp = 0x02;
inline constexpr int user = 0x03;
inline constexpr int pub_key_cred_params = 0x04;
inline constexpr int exclude_list = 0x05;
inline constexpr int extensions = 0x06;
inline constexpr int options = 0x07;
inline constexpr int pin_uv_auth_param = 0x08;
inline constexpr int pin_uv_auth_protocol = 0x09;
inline constexpr int enterprise_attestation = 0x0a;
inline constexpr int attestation_formats_preference = 0x0b;
}  // namespace make_credential

namespace make_credential_response {
inline constexpr int fmt = 0x01;
inline constexpr int auth_data = 0x02;
inline constexpr int att_stmt = 0x03;
inline constexpr int ep_att = 0x04;
inline constexpr int large_blob_key = 0x05;
inline constexpr int unsigned_extension_outputs = 0x06;
}  // namespace make_credential_response

namespace get_assertion {
inline constexpr int rp_id = 0x01;
inline constexpr int client_data_hash = 0x02;
inline constexpr int allow_list = 0x03;
inline constexpr int extensions = 0x04;
inline constexpr int options = 0x05;
inline constexpr int pin_uv_auth_param = 0x06;
inline constexpr int pin_uv_auth_protocol = 0x07;
}  // namespace get_assertion

namespace get_assertion_response {
inline constexpr int credential = 0x01;
inline constexpr int auth_data = 0x02;
inline constexpr int signature = 0x03;
inline constexpr int user = 0x04;
inline constexpr int number_of_credentials = 0x05;
inline constexpr int user_selected = 0x06;
inline constexpr int large_blob_key = 0x07;
inline constexpr int unsigned_extension_outputs = 0x08;
}  // namespace get_assertion_response

}  // namespace hybrid::ctap::keys
