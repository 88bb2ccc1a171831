#include "bridge/hybrid_phone_backend.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <stop_token>
#include <vector>

#include "base/log.h"
#include "ble/bluez_radio.h"
#include "base/atomic_file.h"
#include "qr/render.h"
#include "roles/link_store.h"
#include "roles/linked_then_qr.h"

extern char** environ;

namespace hybrid::bridge {
namespace {

constexpr std::string_view kStage = "phone";
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr uint8_t kMakeCredential = 0x01;

Error phone_error(PhoneError code, std::string message) { return make_error(code, std::move(message)); }

// `program` itself when it names a file ("/usr/bin/x", "./x"), else the first executable
// regular file called `program` in $PATH; empty when there is none.
std::string find_executable(const std::string& program) {
  auto usable = [](const std::string& path) {
    struct stat st {};
    return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && access(path.c_str(), X_OK) == 0;
  };
  if (program.empty()) return "";
  if (program.find('/') != std::string::npos) return usable(program) ? program : "";
  const char* path = std::getenv("PATH");
  std::string_view rest = path ? path : "/usr/local/bin:/usr/bin:/bin";
  while (true) {
    auto colon = rest.find(':');
    std::string dir(rest.substr(0, colon));
    if (dir.empty()) dir = ".";
    std::string candidate = dir + "/" + program;
    if (usable(candidate)) return candidate;
    if (colon == std::string_view::npos) return "";
    rest.remove_prefix(colon + 1);
  }
}

// Runs `argv` detached (stdio on /dev/null, reparented to init by a double fork so that
// nobody has to reap it and a hung notifier never holds up a transaction). Errors are
// ignored on purpose: a missing notification must never fail a sign-in.
void spawn_detached(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t child = fork();
  if (child < 0) {
    log::warn(kStage, "could not start {}: fork failed", args[0]);
    return;
  }
  if (child == 0) {  // only async-signal-safe calls from here on (the parent has threads)
    if (fork() == 0) {
      int null_fd = open("/dev/null", O_RDWR);
      if (null_fd >= 0) {
        dup2(null_fd, 0);
        dup2(null_fd, 1);
        dup2(null_fd, 2);
      }
      setsid();
      execve(argv[0], argv.data(), environ);
      _exit(127);
    }
    _exit(0);
  }
  int status = 0;
  while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
}

}  // namespace

PhoneError phone_error_for(roles::ClientFailure failure) {
  using F = roles::ClientFailure;
  switch (failure) {
    case F::timeout:
    case F::no_advert:
      return PhoneError::timeout;
    case F::cancelled:
    case F::phone_closed:
      return PhoneError::cancelled;
    case F::bluetooth:
    case F::tunnel_status:
    case F::tls:
    case F::network:
    case F::link_gone:
      return PhoneError::unavailable;
    case F::handshake:
    case F::protocol:
    case F::internal:
      return PhoneError::other;
  }
  return PhoneError::other;
}

bool stderr_is_journal() {
  const char* stream = std::getenv("JOURNAL_STREAM");  // "<device>:<inode>" of the journal socket
  if (!stream || !*stream) return false;
  struct stat st {};
  if (fstat(STDERR_FILENO, &st) != 0) return false;
  unsigned long long dev = 0, ino = 0;
  if (std::sscanf(stream, "%llu:%llu", &dev, &ino) != 2) return false;
  return static_cast<unsigned long long>(st.st_dev) == dev && static_cast<unsigned long long>(st.st_ino) == ino;
}

struct HybridPhoneBackend::Job {
  std::stop_source stop;  // cancel(): every stage of every attempt of this job stops
  std::mutex mutex;
  bool qr_visible = false;  // guarded by mutex
};

HybridPhoneBackend::HybridPhoneBackend(HybridPhoneBackendOptions options) : options_(std::move(options)) {
  if (options_.link_store_path.empty()) options_.link_store_path = roles::LinkStore::default_path();
}

Result<std::unique_ptr<HybridPhoneBackend>> HybridPhoneBackend::create(HybridPhoneBackendOptions options) {
  if (options.timeout.count() <= 0) return make_error("the phone transaction timeout must be positive");
  if (options.advert_timeout.count() <= 0) return make_error("--advert-timeout must be a positive number of seconds");
  std::unique_ptr<HybridPhoneBackend> backend(new HybridPhoneBackend(std::move(options)));
  const auto& o = backend->options_;
  if (!o.phone.empty()) {
    roles::LinkStore links(o.link_store_path);
    auto found = links.find(o.phone);
    if (!found) return found.error();
    if (!found->has_value()) {
      return make_error("no linked phone is called \"" + o.phone + "\" in " + o.link_store_path +
                        " (see `hybrid phones list --link-store " + o.link_store_path + "`)");
    }
    log::info(kStage, "requests go to the linked phone \"{}\" first (QR code if it cannot be reached)", o.phone);
  }
  if (!o.notify_program.empty() && find_executable(o.notify_program).empty()) {
    log::info(kStage, "{} is not installed: no desktop notifications (the QR code still shows{}{})", o.notify_program,
              o.qr_on_terminal ? " here" : "", o.qr_png_path.empty() ? "" : " and in " + o.qr_png_path);
  }
  if (!o.qr_on_terminal && o.qr_png_path.empty()) {
    log::warn(kStage, "the QR code is neither drawn on this terminal nor written to a file (--qr-png): nobody can "
                      "scan it, only a linked phone (--phone) can be reached");
  }
  return backend;
}

HybridPhoneBackend::~HybridPhoneBackend() {
  cancel();
  std::thread last;
  {
    std::lock_guard lock(mutex_);
    last = std::move(worker_);
  }
  if (last.joinable()) last.join();  // joins every earlier worker in turn
}

void HybridPhoneBackend::start(Bytes ctap_request, PhoneDone done) {
  auto job = std::make_shared<Job>();
  std::lock_guard lock(mutex_);
  current_ = job;
  std::thread previous = std::move(worker_);
  worker_ = std::thread([this, job, previous = std::move(previous), request = std::move(ctap_request),
                         done = std::move(done)]() mutable {
    // The bridge starts a request only after cancelling the last one; let that one finish
    // (scan stopped, tunnel closed) before this one scans.
    if (previous.joinable()) previous.join();
    PhoneResponse response = job->stop.stop_requested() ? PhoneResponse(phone_error(PhoneError::cancelled, "cancelled"))
                                            : run(*job, request);
    if (response) {
      log::info(kStage, "the phone answered with CTAP status 0x{:02x} ({} bytes)", (*response)[0], response->size());
    } else {
      log::info(kStage, "the transaction with the phone ended: {}", response.error().message);
    }
    done(std::move(response));
  });
}

void HybridPhoneBackend::cancel() {
  std::shared_ptr<Job> job;
  {
    std::lock_guard lock(mutex_);
    job = current_;
  }
  if (job) job->stop.request_stop();
}

PhoneResponse HybridPhoneBackend::run(Job& job, const Bytes& ctap_request) {
  if (ctap_request.empty()) return phone_error(PhoneError::other, "empty CTAP request");
  const auto deadline = Clock::now() + options_.timeout;

  roles::LinkStore links(options_.link_store_path);
  std::optional<roles::LinkRecord> linked;
  if (!options_.phone.empty()) {
    auto found = links.find(options_.phone);
    if (!found) {
      log::warn(kStage, "{}; using a QR code", found.error().message);
    } else if (!found->has_value()) {
      log::warn(kStage, "the linked phone \"{}\" is no longer in {}; using a QR code", options_.phone,
                options_.link_store_path);
    } else {
      linked = **found;
    }
  }

  roles::LinkedThenQr plan;
  plan.linked_phone = linked;
  plan.links = &links;
  plan.attempt = [&](const std::optional<roles::LinkRecord>& phone) -> Result<roles::ClientTransactionResult> {
    if (Clock::now() >= deadline) return Error{roles::ClientFailure::timeout, "no time left for a QR code"};
    return run_attempt(job, ctap_request, phone, deadline);
  };
  plan.on_linked_failure = [](const roles::LinkedAttemptFailure& f) {
    if (f.forgotten) log::warn(kStage, "forgot the linked phone \"{}\": it was unlinked", f.phone.name);
    if (f.falls_back) {
      log::warn(kStage, "the linked phone \"{}\" could not be reached ({}: {}); falling back to a QR code",
                f.phone.name, roles::failure_name(f.failure), f.error.message);
    }
  };
  auto result = roles::run_linked_then_qr(plan, job.stop.get_token());
  if (!result) {
    auto failure = job.stop.stop_requested() ? roles::ClientFailure::cancelled : roles::failure_or_internal(result.error());
    return phone_error(phone_error_for(failure), result.error().message);
  }
  if (result->linking) {
    auto name = links.add(*result->linking, result->domain_id, options_.tunnel_override);
    if (name) {
      log::info(kStage, "linked this phone as \"{}\": start the bridge with --phone \"{}\" to skip the QR code",
                *name, *name);
    } else {
      log::warn(kStage, "could not store the linked phone: {}", name.error().message);
    }
  }
  return concat(Bytes{result->ctap_status}, result->ctap_body);
}

Result<roles::ClientTransactionResult> HybridPhoneBackend::run_attempt(
    Job& job, const Bytes& ctap_request, const std::optional<roles::LinkRecord>& linked, Clock::time_point deadline) {
  const bool make_credential = ctap_request[0] == kMakeCredential;
  std::unique_ptr<ble::Radio> radio;
  if (options_.make_radio) {
    radio = options_.make_radio();
  } else {
    ble::BluezRadioOptions ro;
    ro.dbus_address = options_.dbus_address;
    ro.adapter = options_.adapter;
    ro.power_on = options_.power_on;
    radio = std::make_unique<ble::BluezRadio>(ro);
  }

  roles::ClientTransactionOptions o;
  o.tunnel_override = options_.tunnel_override;
  o.ca_file = options_.ca_file;
  o.timeout = std::max(milliseconds(1), std::chrono::duration_cast<milliseconds>(deadline - Clock::now()));
  o.advert_timeout = options_.advert_timeout;
  o.request_type = make_credential ? qr::RequestType::make_credential : qr::RequestType::get_assertion;
  o.offer_linking = options_.offer_linking;
  o.linked_phone = linked;
  o.on_keylog = options_.on_keylog;
  o.on_progress = [this, &job, make_credential](const roles::ClientProgress& p) {
    log::info(kStage, "[{:.1f}s] {}{}{}", p.elapsed.count() / 1000.0, roles::stage_name(p.stage),
              p.detail.empty() ? "" : ": ", p.detail);
    if (p.stage == roles::Stage::qr_shown && !job.stop.stop_requested()) {
      show_qr(p.qr_url, make_credential);
      std::lock_guard lock(job.mutex);
      job.qr_visible = true;
    }
  };

  if (linked) log::info(kStage, "asking the linked phone \"{}\"", linked->name);
  auto result = roles::ClientTransaction(*radio, o).run(ctap_request[0], ByteView(ctap_request).subspan(1),
                                                        job.stop.get_token());
  bool was_visible = false;
  {
    std::lock_guard lock(job.mutex);
    was_visible = job.qr_visible;
    job.qr_visible = false;
  }
  if (was_visible) hide_qr();
  return result;
}

void HybridPhoneBackend::show_qr(const std::string& qr_url, bool make_credential) {
  const char* what = make_credential ? "create a passkey" : "sign in with a passkey";
  if (options_.qr_on_terminal) {
    auto art = qr::render_terminal(qr_url);
    std::string text = std::string("\nA program on this computer wants to ") + what +
                       ". Scan this QR code with your phone's camera:\n" + (art ? *art : "") +
                       "QR code text: " + qr_url + "\n\n";
    std::fputs(text.c_str(), stderr);
    std::fflush(stderr);
  }
  if (!options_.qr_png_path.empty()) {
    auto png = qr::render_png(qr_url);
    Status written = png ? atomic_write_file(options_.qr_png_path, *png, 0600) : Status(png.error());
    if (!written) log::warn(kStage, "could not write the QR code to {}: {}", options_.qr_png_path, written.error().message);
  }
  if (std::string program = find_executable(options_.notify_program); !program.empty()) {
    std::string body = std::string("A program on this computer wants to ") + what + ". Scan the QR code " +
                       (options_.qr_png_path.empty() ? std::string("in the bridge's terminal")
                                                     : "in " + options_.qr_png_path) +
                       " with your phone.";
    std::vector<std::string> args{program, "--app-name=hybrid bridge", "--urgency=normal",
                                  "--expire-time=" + std::to_string(options_.advert_timeout.count())};
    if (!options_.qr_png_path.empty()) args.push_back("--icon=" + options_.qr_png_path);
    args.push_back("Scan the QR code with your phone");
    args.push_back(body);
    spawn_detached(args);
  }
}

void HybridPhoneBackend::hide_qr() {
  // A QR code is good for one transaction only: do not leave a stale one on disk.
  if (!options_.qr_png_path.empty() && unlink(options_.qr_png_path.c_str()) != 0 && errno != ENOENT) {
    log::warn(kStage, "could not remove {}: {}", options_.qr_png_path, std::strerror(errno));
  }
}

}  // namespace hybrid::bridge
