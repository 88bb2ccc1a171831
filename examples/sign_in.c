/* An example of libhybrid's C API: create a passkey on a phone, then sign in with it.
 *
 *   cc sign_in.c $(pkg-config --cflags --libs hybrid) -o sign_in
 *   ./sign_in [--tunnel ws://127.0.0.1:PORT] [--dbus-address ADDR] [--qr-png FILE]
 *
 * Each ceremony prints its stages on stderr and, when the QR code is ready, a line
 * "QR: FIDO:/..." on stdout (scan it with the phone, or give it to `hybrid phone --qr`);
 * --qr-png also writes the image. The credential JSON (what a relying party's server
 * verifies) goes to stdout as "CREDENTIAL: {...}". Exit status 0 when both succeed. */
#include <hybrid/hybrid.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

static const char* qr_png_path = NULL;

static void on_stage(const hybrid_stage_event* e, void* user_data) {
  const char* what = user_data;
  fprintf(stderr, "[%s %6.1fs] %s%s%s\n", what, (double)e->elapsed_ms / 1000.0, hybrid_stage_name(e->stage),
          e->detail[0] ? ": " : "", e->detail);
  if (e->stage == HYBRID_STAGE_QR_READY) {
    printf("QR: %s\n", e->qr_url);
    fflush(stdout);
    if (qr_png_path && e->qr_png) {
      FILE* f = fopen(qr_png_path, "wb");
      if (f) {
        fwrite(e->qr_png, 1, e->qr_png_len, f);
        fclose(f);
      }
    }
  }
}

static int run(hybrid_ceremony* c, const char* what) {
  if (!c) {
    fprintf(stderr, "sign_in: could not start the %s\n", what);
    return 1;
  }
  int rc = hybrid_ceremony_run(c);
  if (rc != HYBRID_OK) {
    fprintf(stderr, "sign_in: %s failed (%d): %s\n", what, rc, hybrid_ceremony_error(c));
  } else {
    printf("CREDENTIAL: %s\n", hybrid_ceremony_credential_json(c));
    fflush(stdout);
  }
  hybrid_ceremony_free(c);
  return rc == HYBRID_OK ? 0 : 1;
}

int main(int argc, char** argv) {
  hybrid_options* options = hybrid_options_new();
  if (!options) return 1;
  hybrid_options_set(options, "origin", "https://example.com");
  hybrid_options_set(options, "timeout", "60");
  for (int i = 1; i + 1 < argc; i += 2) {
    const char* name = argv[i];
    if (strcmp(name, "--tunnel") == 0) name = "--tunnel-override";
    if (strcmp(name, "--qr-png") == 0) {
      qr_png_path = argv[i + 1];
    } else if (strncmp(name, "--", 2) != 0 || hybrid_options_set(options, name + 2, argv[i + 1]) != HYBRID_OK) {
      fprintf(stderr, "sign_in: %s\n", hybrid_options_error(options));
      hybrid_options_free(options);
      return 2;
    }
  }
  fprintf(stderr, "libhybrid %s (git %s)\n", hybrid_version(), hybrid_git_revision());

  /* Normally the relying party's server makes these (with a random challenge). */
  char challenge[64];
  snprintf(challenge, sizeof challenge, "ZXhhbXBsZS1jaGFsbGVuZ2Ut%08lx", (unsigned long)time(NULL));
  char creation[1024];
  snprintf(creation, sizeof creation,
           "{\"rp\":{\"id\":\"example.com\",\"name\":\"Example\"},"
           "\"user\":{\"id\":\"YWxpY2UtaWQ\",\"name\":\"alice@example.com\",\"displayName\":\"Alice\"},"
           "\"challenge\":\"%s\",\"pubKeyCredParams\":[{\"type\":\"public-key\",\"alg\":-7}],"
           "\"authenticatorSelection\":{\"residentKey\":\"required\",\"userVerification\":\"preferred\"},"
           "\"attestation\":\"none\"}",
           challenge);
  char request[512];
  snprintf(request, sizeof request,
           "{\"rpId\":\"example.com\",\"challenge\":\"%s\",\"userVerification\":\"preferred\"}", challenge);

  hybrid_options_set_stage_callback(options, on_stage, (void*)"register");
  int failed = run(hybrid_register_new(creation, options), "registration");
  if (!failed) {
    hybrid_options_set_stage_callback(options, on_stage, (void*)"sign-in");
    failed = run(hybrid_sign_in_new(request, options), "sign-in");
  }
  hybrid_options_free(options);
  return failed;
}
