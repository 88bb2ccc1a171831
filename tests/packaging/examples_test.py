#!/usr/bin/python3
"""libhybrid as another program sees it. Installs the `lib` and `dev` components into a
temporary prefix (what the libhybrid0 and libhybrid-dev packages hold), builds
examples/sign_in.c and examples/sign_in.cpp with nothing but `pkg-config hybrid` from that
prefix, and runs each against a local tunnel server, the virtual air and the software phone
(`hybrid phone`), answering every QR code the example shows: each must complete a
registration and a sign-in. Also checks the library's surface: soname, only hybrid_* and
hybrid::api symbols exported, and no third-party header named in the public headers.

  examples_test.py BUILD_DIR [--prefix DIR]   (with --prefix: use an installed library there)"""
import glob
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

BIN = os.environ.get("HYBRID_BINARY") or shutil.which("hybrid")
CHECKS = []


def check(name, cond, detail=""):
    if not cond:
        raise AssertionError(f"{name}: {detail}")
    CHECKS.append(name)
    print(f"ok {name}", flush=True)


def service(args, env, procs):
    p = subprocess.Popen([BIN] + args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, text=True)
    procs.append(p)
    line = p.stdout.readline()
    info = json.loads(line)
    assert info.get("ready"), line
    return info


def run_example(exe, tunnel, dbus, work, env):
    """Runs one example; answers each "QR: ..." line with `hybrid phone`."""
    ex = subprocess.Popen([exe, "--tunnel", tunnel, "--dbus-address", dbus], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, env=env)
    stderr_lines = []
    t = threading.Thread(target=lambda: stderr_lines.extend(ex.stderr), daemon=True)
    t.start()
    credentials, phones = [], []
    deadline = time.time() + 120
    try:
        for line in ex.stdout:
            if line.startswith("QR: "):
                qr = line[4:].strip()
                check(f"{os.path.basename(exe)}: QR code text", qr.startswith("FIDO:/"), qr)
                ph = subprocess.run([BIN, "phone", "--qr", qr, "--tunnel", tunnel, "--dbus-address", dbus,
                                     "--store", os.path.join(work, os.path.basename(exe) + "-phone.json"), "--timeout", "45"],
                                    capture_output=True, text=True, env=env, timeout=60)
                phones.append(ph)
                check(f"{os.path.basename(exe)}: phone answered", ph.returncode == 0, ph.stderr)
            elif line.startswith("CREDENTIAL: "):
                credentials.append(json.loads(line[len("CREDENTIAL: "):]))
            if time.time() > deadline:
                raise AssertionError("the example took too long")
        rc = ex.wait(timeout=max(1, deadline - time.time()))
    finally:
        if ex.poll() is None:
            ex.kill()
            ex.wait()
    t.join(timeout=5)
    name = os.path.basename(exe)
    check(f"{name}: exit 0", rc == 0, "".join(stderr_lines))
    check(f"{name}: two credentials", len(credentials) == 2, str(credentials))
    reg, auth = credentials
    check(f"{name}: registration has an attestationObject", "attestationObject" in reg.get("response", {}), str(reg))
    check(f"{name}: sign-in has a signature", "signature" in auth.get("response", {}), str(auth))
    check(f"{name}: signed in with the new passkey", auth.get("id") == reg.get("id"), f"{reg.get('id')} {auth.get('id')}")
    text = "".join(stderr_lines)
    for stage in ("qr ready", "phone nearby", "connected", "done"):
        check(f"{name}: stage '{stage}' reported", stage in text, text)


def main():
    args = sys.argv[1:]
    build = args[0] if args and not args[0].startswith("--") else None
    prefix = args[args.index("--prefix") + 1] if "--prefix" in args else None
    work = tempfile.mkdtemp(prefix="hybrid-lib-")
    procs = []
    try:
        if prefix is None:
            prefix = os.path.join(work, "prefix")
            for component in ("lib", "dev"):
                subprocess.run(["cmake", "--install", build, "--prefix", prefix, "--component", component],
                               check=True, capture_output=True, timeout=60)
        pc = glob.glob(os.path.join(prefix, "lib*", "**", "hybrid.pc"), recursive=True)
        check("hybrid.pc installed", len(pc) == 1, str(pc))
        env = dict(os.environ, PKG_CONFIG_PATH=os.path.dirname(pc[0]))
        flags = subprocess.run(["pkg-config", "--cflags", "--libs", "hybrid"], capture_output=True, text=True,
                               env=env, check=True).stdout.split()
        libdir = [f[2:] for f in flags if f.startswith("-L")]
        version = subprocess.run(["pkg-config", "--modversion", "hybrid"], capture_output=True, text=True,
                                 env=env, check=True).stdout.strip()
        check("pkg-config version is semantic", re.match(r"^\d+\.\d+\.\d+$", version) is not None, version)
        lib = os.path.realpath(os.path.join(libdir[0] if libdir else "/usr/lib", "libhybrid.so"))
        soname = subprocess.run(["objdump", "-p", lib], capture_output=True, text=True).stdout
        check("soname libhybrid.so.0", re.search(r"SONAME\s+libhybrid\.so\.0\b", soname) is not None, soname[:500])
        check("library file carries the full version", lib.endswith(".so." + version), lib)
        syms = subprocess.run(["nm", "-D", "--defined-only", "-C", lib], capture_output=True, text=True).stdout
        exported = [l.split(" ", 2)[2].split("@")[0] for l in syms.splitlines() if len(l.split(" ", 2)) == 3]
        foreign = [s for s in exported if not (s.startswith("hybrid_") or "hybrid::api::" in s or s.startswith("HYBRID_"))]
        check("only hybrid_* and hybrid::api symbols exported", not foreign, str(foreign[:20]))
        check("the C API is exported", "hybrid_ceremony_run" in exported, str(exported[:20]))
        incdir = os.path.join(prefix, "include", "hybrid")
        std_headers = {"stddef.h", "stdint.h", "chrono", "cstdint", "functional", "memory", "string", "vector"}
        for header in sorted(os.listdir(incdir)):
            lines = open(os.path.join(incdir, header), encoding="utf-8").read().splitlines()
            includes = [re.sub(r"^#include\s*[<\"]([^>\"]+)[>\"].*$", r"\1", l.strip()) for l in lines
                        if l.strip().startswith("#include")]
            check(f"{header} includes only the standard library", set(includes) <= std_headers, str(includes))
            code = "\n".join(l for l in lines if not l.strip().startswith(("//", "/*", "*")))
            for banned in ("lws_", "sd_bus", "EVP_", "nlohmann", "CLI::", "OPENSSL"):
                check(f"{header} uses nothing of {banned}", banned not in code)

        exes = []
        cc = subprocess.run(["cc", "-Wall", "-Wextra", "-Werror", "-std=c11", "examples/sign_in.c", "-o",
                             os.path.join(work, "sign_in_c")] + flags, capture_output=True, text=True, env=env)
        check("sign_in.c builds with pkg-config", cc.returncode == 0, cc.stderr)
        exes.append(os.path.join(work, "sign_in_c"))
        cxx = subprocess.run(["c++", "-Wall", "-Wextra", "-Werror", "-std=c++20", "examples/sign_in.cpp", "-o",
                              os.path.join(work, "sign_in_cpp")] + flags, capture_output=True, text=True, env=env)
        check("sign_in.cpp builds with pkg-config", cxx.returncode == 0, cxx.stderr)
        exes.append(os.path.join(work, "sign_in_cpp"))

        env = dict(os.environ, XDG_DATA_HOME=os.path.join(work, "data"), HYBRID_LOG="warn")
        if libdir:
            env["LD_LIBRARY_PATH"] = libdir[0]
        air = service(["virtual-air"], env, procs)
        tunnel = service(["tunnel", "serve", "--listen", "127.0.0.1:0"], env, procs)
        for exe in exes:
            run_example(exe, tunnel["url"], air["dbus_address"], work, env)
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(work, ignore_errors=True)
    print(f"{len(CHECKS)} checks passed")


if __name__ == "__main__":
    main()
