/* libhybrid: the public C API (link with `pkg-config --libs hybrid`), a thin layer over the
 * C++ API in hybrid.hpp for C programs and other languages' FFIs.
 *
 * Objects are opaque; options are set by name (the same names as the `hybrid` command's
 * options, without the dashes), so that adding an option never changes the ABI. Every
 * string returned is owned by the object it came from unless the function says
 * otherwise. Functions that can fail return 0 on success or a HYBRID_ERR_* value and keep
 * a message for hybrid_*_error(). */
#ifndef HYBRID_HYBRID_H
#define HYBRID_HYBRID_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define HYBRID_C_API __attribute__((visibility("default")))

/* Failure classes (the same values as hybrid::api::Failure). */
enum {
  HYBRID_OK = 0,
  HYBRID_ERR_BLUETOOTH = 1,
  HYBRID_ERR_NO_ADVERT = 2,
  HYBRID_ERR_TUNNEL_STATUS = 3,
  HYBRID_ERR_TLS = 4,
  HYBRID_ERR_NETWORK = 5,
  HYBRID_ERR_HANDSHAKE = 6,
  HYBRID_ERR_PHONE_CLOSED = 7,
  HYBRID_ERR_CANCELLED = 8,
  HYBRID_ERR_TIMEOUT = 9,
  HYBRID_ERR_LINK_GONE = 10,
  HYBRID_ERR_PROTOCOL = 11,
  HYBRID_ERR_INTERNAL = 12,
  HYBRID_ERR_INVALID_INPUT = 13,
  HYBRID_ERR_CTAP = 14
};

typedef enum {
  HYBRID_STAGE_QR_READY = 0,
  HYBRID_STAGE_CONTACTING_PHONE = 1,
  HYBRID_STAGE_PHONE_NEARBY = 2,
  HYBRID_STAGE_CONNECTED = 3,
  HYBRID_STAGE_SECURE_CHANNEL = 4,
  HYBRID_STAGE_WAITING_FOR_USER = 5,
  HYBRID_STAGE_DONE = 6
} hybrid_stage;

typedef struct {
  hybrid_stage stage;
  int64_t elapsed_ms;
  const char* detail;          /* human text, never a secret */
  const char* qr_url;          /* HYBRID_STAGE_QR_READY: "FIDO:/..."; otherwise "" */
  const unsigned char* qr_png; /* HYBRID_STAGE_QR_READY: the QR code as PNG; otherwise NULL */
  size_t qr_png_len;
} hybrid_stage_event;

/* Called on the ceremony's thread; the event is valid only during the call. */
typedef void (*hybrid_stage_callback)(const hybrid_stage_event* event, void* user_data);

HYBRID_C_API const char* hybrid_version(void);      /* "0.1.0" */
HYBRID_C_API const char* hybrid_git_revision(void);
HYBRID_C_API const char* hybrid_stage_name(hybrid_stage stage);
/* Frees a string this library returned as the caller's. */
HYBRID_C_API void hybrid_free(void* p);

/* Options, set by name. For ceremonies: origin (required), tunnel-override, ca-file,
 * dbus-address, adapter, power-on, timeout, advert-timeout (seconds), link-store,
 * no-linking, phone. For an authenticator: tunnel (required), store (required),
 * identity, name, kind, domain-id, offer-linking, ca-file, dbus-address, adapter, timeout.
 * For a tunnel node: listen ("127.0.0.1:0"), routing-id, tls-cert, tls-key.
 * Flags take "1"/"0". Unknown names and bad numbers are HYBRID_ERR_INVALID_INPUT. */
typedef struct hybrid_options hybrid_options;
HYBRID_C_API hybrid_options* hybrid_options_new(void);
HYBRID_C_API void hybrid_options_free(hybrid_options* options);
HYBRID_C_API int hybrid_options_set(hybrid_options* options, const char* name, const char* value);
HYBRID_C_API void hybrid_options_set_stage_callback(hybrid_options* options, hybrid_stage_callback callback,
                                                    void* user_data);
HYBRID_C_API const char* hybrid_options_error(const hybrid_options* options);

/* A WebAuthn ceremony over hybrid. options_json: PublicKeyCredentialRequestOptionsJSON
 * (sign-in) or PublicKeyCredentialCreationOptionsJSON (registration). run() blocks until
 * done, failed, timed out or cancelled; cancel() may be called from any thread. */
typedef struct hybrid_ceremony hybrid_ceremony;
HYBRID_C_API hybrid_ceremony* hybrid_sign_in_new(const char* options_json, const hybrid_options* options);
HYBRID_C_API hybrid_ceremony* hybrid_register_new(const char* options_json, const hybrid_options* options);
HYBRID_C_API int hybrid_ceremony_run(hybrid_ceremony* ceremony);
HYBRID_C_API void hybrid_ceremony_cancel(hybrid_ceremony* ceremony);
/* PublicKeyCredential JSON after a successful run, else "". */
HYBRID_C_API const char* hybrid_ceremony_credential_json(const hybrid_ceremony* ceremony);
HYBRID_C_API const char* hybrid_ceremony_linked_phone(const hybrid_ceremony* ceremony);
HYBRID_C_API const char* hybrid_ceremony_error(const hybrid_ceremony* ceremony);
HYBRID_C_API void hybrid_ceremony_free(hybrid_ceremony* ceremony);

/* The linked phones as a JSON array [{"name","tunnel","public_key","linked_at"}] (caller
 * frees with hybrid_free), or NULL with *error_out (also freed by the caller) set.
 * link_store NULL = the default file. */
HYBRID_C_API char* hybrid_linked_phones_json(const char* link_store, char** error_out);

/* A software authenticator; serve_qr answers one QR code and blocks. */
typedef struct hybrid_authenticator hybrid_authenticator;
HYBRID_C_API hybrid_authenticator* hybrid_authenticator_new(const hybrid_options* options, char** error_out);
HYBRID_C_API int hybrid_authenticator_serve_qr(hybrid_authenticator* authenticator, const char* qr_url);
HYBRID_C_API void hybrid_authenticator_cancel(hybrid_authenticator* authenticator);
HYBRID_C_API const char* hybrid_authenticator_error(const hybrid_authenticator* authenticator);
HYBRID_C_API void hybrid_authenticator_free(hybrid_authenticator* authenticator);

/* A tunnel-server node serving on a background thread until freed. */
typedef struct hybrid_tunnel hybrid_tunnel;
HYBRID_C_API hybrid_tunnel* hybrid_tunnel_start(const hybrid_options* options, char** error_out);
HYBRID_C_API uint16_t hybrid_tunnel_port(const hybrid_tunnel* tunnel);
HYBRID_C_API const char* hybrid_tunnel_url(const hybrid_tunnel* tunnel);
HYBRID_C_API void hybrid_tunnel_free(hybrid_tunnel* tunnel); /* stops and waits */

#ifdef __cplusplus
}
#endif

#endif /* HYBRID_HYBRID_H */
