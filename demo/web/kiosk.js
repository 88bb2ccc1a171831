// The kiosk page: renders the kiosk's state, pushed over a WebSocket (falls back to polling
// /api/state), and sends the visitor's choices back. Everything is set as text except the
// QR code's SVG, which the kiosk itself draws.
'use strict';
(function () {
  const $ = (id) => document.getElementById(id);
  let ws = null;
  let retryMs = 500;
  let last = null;            // the last state rendered
  let shownQr = '';           // the QR URL currently drawn
  let tablesKey = '';         // directory + profiles already rendered
  let historyKey = '';
  let deadline = { qr: 0, clears: 0 };
  let pollTimer = null;

  function setConn(online) {
    const c = $('conn');
    c.dataset.online = online ? 'true' : 'false';
    c.textContent = online ? 'Live' : 'Reconnecting…';
  }

  function connect() {
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    try {
      ws = new WebSocket(proto + '//' + location.host + '/status', 'hybrid-kiosk');
    } catch (e) {
      startPolling();
      return;
    }
    // A restarted kiosk counts its states from zero again: accept whatever comes first.
    ws.onopen = () => { retryMs = 500; last = null; setConn(true); stopPolling(); };
    ws.onmessage = (ev) => {
      let m;
      try { m = JSON.parse(ev.data); } catch (e) { return; }
      if (m.type === 'state') render(m);
      else if (m.type === 'error') $('form-error').textContent = m.message;
    };
    ws.onclose = () => {
      setConn(false);
      startPolling();
      setTimeout(connect, retryMs);
      retryMs = Math.min(retryMs * 2, 5000);
    };
  }

  function startPolling() {
    if (pollTimer) return;
    pollTimer = setInterval(() => {
      fetch('/api/state', { cache: 'no-store' }).then((r) => r.json()).then((s) => { last = null; render(s); })
        .catch(() => {});
    }, 1000);
  }
  function stopPolling() { if (pollTimer) { clearInterval(pollTimer); pollTimer = null; } }

  function send(obj) {
    if (ws && ws.readyState === WebSocket.OPEN) { ws.send(JSON.stringify(obj)); return true; }
    $('form-error').textContent = 'The kiosk is not connected; try again in a moment.';
    return false;
  }

  function el(tag, text, cls) {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = text;
    if (cls) e.className = cls;
    return e;
  }

  function passkeyFacts(o) {
    const facts = [];
    if (o.user) facts.push(['Account', (o.display_name || o.user) + ' (' + o.user + ')']);
    if (o.passkey) {
      const p = o.passkey;
      facts.push(['Passkey', p.kind === 'synced' ? 'synced (can move between devices)' : 'device-bound (never leaves the device)']);
      facts.push(['Provider', p.provider + (p.provider_verified ? ' (verified by attestation)' : ' (unverified claim)')]);
      facts.push(['Attestation', p.attested ? 'yes, to a trusted root (' + p.attestation + ')'
                                            : 'no trusted attestation (' + p.attestation + ')']);
    }
    if (o.profile) facts.push(['Profile', o.profile]);
    if (o.rule) facts.push(['Rule', o.rule]);
    return facts;
  }

  function outcomeTitle(o) {
    const name = o.display_name || o.user || '';
    switch (o.kind) {
      case 'signed_in': return 'Welcome, ' + name;
      case 'registered': return 'Passkey created for ' + name;
      case 'refused': return 'Refused by the passkey policy';
      default: return 'That did not work';
    }
  }

  function renderOutcome(s) {
    const box = $('outcome');
    const o = s.outcome;
    if (!o) { box.hidden = true; box.dataset.kind = ''; return; }
    box.hidden = false;
    box.dataset.kind = o.kind;
    $('outcome-title').textContent = outcomeTitle(o);
    const dl = $('outcome-facts');
    dl.replaceChildren();
    for (const [k, v] of passkeyFacts(o)) { dl.append(el('dt', k), el('dd', v)); }
    if ((o.kind === 'refused' || o.kind === 'failed') && o.reason) dl.append(el('dt', 'Why'), el('dd', o.reason));
  }

  function renderSteps(s) {
    const result = $('step-result');
    const o = s.outcome;
    result.textContent = !o ? (s.mode === 'register' ? 'Passkey created' : 'Signed in')
      : o.kind === 'signed_in' ? 'Signed in' : o.kind === 'registered' ? 'Passkey created'
      : o.kind === 'refused' ? 'Refused' : 'Failed';
    for (const li of $('steps').children) {
      const n = Number(li.dataset.step);
      const done = n < s.step || (n === 4 && s.phase === 'done' && o && (o.kind === 'signed_in' || o.kind === 'registered'));
      li.classList.toggle('complete', done);
      if (n === s.step && !(n === 4 && done)) li.setAttribute('aria-current', 'step');
      else li.removeAttribute('aria-current');
    }
  }

  function renderQr(s) {
    const qr = $('qr');
    if (s.qr) {
      if (s.qr.url !== shownQr) {
        shownQr = s.qr.url;
        const svg = s.qr.svg.replace(/^<\?xml[^>]*>\s*/, '');
        qr.innerHTML = svg;  // drawn by the kiosk (qr/render), no user data besides the code
        $('qr-text').value = s.qr.url;
        qr.dataset.number = String(s.qr.number);
      }
      if (s.phone_commands) {
        $('cmd-synced').textContent = s.phone_commands.synced;
        $('cmd-device-bound').textContent = s.phone_commands.device_bound;
      }
    } else {
      // No code on screen: while an outcome shows, a large mark of it; otherwise "wait".
      const o = s.phase === 'done' ? s.outcome : null;
      const key = o ? 'done:' + o.kind : 'wait:' + s.phase;
      if (shownQr !== '' || qr.dataset.placeholder !== key) {
        shownQr = '';
        qr.dataset.placeholder = key;
        delete qr.dataset.number;
        if (o) {
          const good = o.kind === 'signed_in' || o.kind === 'registered';
          const box = el('div', null, 'qr-outcome ' + (good ? 'good' : o.kind));
          const mark = el('span', good ? '✓' : o.kind === 'refused' ? '✕' : '!', 'mark');
          mark.setAttribute('aria-hidden', 'true');
          box.append(mark, el('span', o.kind === 'signed_in' ? 'Signed in' : o.kind === 'registered' ? 'Passkey created'
            : o.kind === 'refused' ? 'Refused' : 'Did not work', 'label'));
          qr.replaceChildren(box);
        } else {
          qr.replaceChildren(el('p', 'Getting a code ready…', 'qr-placeholder'));
        }
        $('qr-text').value = '';
        $('cmd-synced').textContent = 'Waiting for a code…';
        $('cmd-device-bound').textContent = 'Waiting for a code…';
      }
    }
  }

  function renderTables(s) {
    const key = JSON.stringify([s.profiles, s.directory]);
    if (key === tablesKey) return;
    tablesKey = key;
    const profiles = $('profiles');
    profiles.replaceChildren();
    for (const p of s.profiles || []) {
      const tr = el('tr');
      const name = el('th', p.name);
      name.scope = 'row';
      if (p.default) name.append(el('span', 'default', 'badge'));
      tr.append(name,
        el('td', (p.target_groups || []).join(', ') || '—'),
        el('td', (p.passkey_types || []).join(' and ')),
        el('td', p.enforce_attestation ? 'required' : 'not required'),
        el('td', p.key_restrictions === 'off' ? 'none'
          : (p.key_restrictions === 'allow' ? 'only ' : 'not ') + (p.aaguids || []).join(', ')));
      profiles.append(tr);
    }
    const people = $('people');
    const users = $('users');
    people.replaceChildren();
    users.replaceChildren();
    for (const u of s.directory || []) {
      const tr = el('tr');
      const name = el('th', u.display_name + ' (' + u.name + ')');
      name.scope = 'row';
      tr.append(name, el('td', (u.groups || []).join(', ') || '—'), el('td', u.profile), el('td', String(u.passkeys)));
      people.append(tr);
      const opt = document.createElement('option');
      opt.value = u.name;
      opt.label = u.display_name + ' — profile ' + u.profile;
      users.append(opt);
    }
  }

  function renderHistory(s) {
    const key = JSON.stringify(s.history);
    if (key === historyKey) return;
    historyKey = key;
    const list = $('history');
    list.replaceChildren();
    if (!s.history || s.history.length === 0) { list.append(el('li', 'Nobody yet.', 'muted')); return; }
    for (const h of s.history) {
      const o = h.outcome;
      const when = new Date(h.at * 1000).toLocaleTimeString();
      let text = when + ': ';
      if (o.kind === 'signed_in') text += (o.display_name || o.user) + ' signed in';
      else if (o.kind === 'registered') text += 'passkey created for ' + (o.display_name || o.user);
      else if (o.kind === 'refused') text += 'refused' + (o.user ? ' for ' + (o.display_name || o.user) : '') + ' (' + o.rule + ')';
      else text += (h.mode === 'register' ? 'registration' : 'sign-in') + ' failed';
      if (o.passkey) text += ' · ' + o.passkey.kind + ', ' + o.passkey.provider;
      list.append(el('li', text));
    }
  }

  function render(s) {
    if (last && s.seq < last.seq) return;
    last = s;
    document.title = s.title;
    $('title').textContent = s.title;
    document.body.dataset.phase = s.phase;
    document.body.dataset.mode = s.mode;
    document.body.dataset.outcome = s.outcome ? s.outcome.kind : '';
    $('qr-heading').textContent = s.mode === 'register'
      ? 'Create a passkey for ' + (s.user_display || s.user) : 'Sign in';
    const status = $('status');
    if (status.textContent !== s.message) status.textContent = s.message;
    status.classList.toggle('long', s.message.length > 48);
    renderSteps(s);
    renderQr(s);
    renderOutcome(s);
    renderTables(s);
    renderHistory(s);
    const now = Date.now();
    deadline.qr = s.qr && s.phase === 'scan' ? now + s.qr.expires_in_ms : 0;
    deadline.clears = s.phase === 'done' ? now + s.clears_in_ms : 0;
    tick();
  }

  function tick() {
    const now = Date.now();
    $('qr-expiry').textContent = deadline.qr
      ? 'A new code appears in ' + Math.max(0, Math.ceil((deadline.qr - now) / 1000)) + ' s' : '';
    $('clears').textContent = deadline.clears
      ? 'Ready for the next visitor in ' + Math.max(0, Math.ceil((deadline.clears - now) / 1000)) + ' s' : '';
  }

  function copyFrom(id) {
    const src = $(id);
    const text = src.value !== undefined && src.tagName === 'TEXTAREA' ? src.value : src.textContent;
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).catch(() => {});
    } else if (src.tagName === 'TEXTAREA') {
      src.select();
      document.execCommand('copy');
    }
  }

  document.addEventListener('DOMContentLoaded', () => {
    $('btn-sign-in').addEventListener('click', () => {
      $('form-error').textContent = '';
      send({ action: 'sign_in' });
    });
    $('register-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      const user = $('user').value.trim().toLowerCase();
      if (!/^[a-z0-9][a-z0-9._-]{0,31}$/.test(user)) {
        $('form-error').textContent = 'A user name has 1 to 32 characters: a-z, 0-9, ".", "_" and "-".';
        return;
      }
      $('form-error').textContent = '';
      send({ action: 'register', user: user });
    });
    for (const b of document.querySelectorAll('[data-copy]')) {
      b.addEventListener('click', () => copyFrom(b.dataset.copy));
    }
    setInterval(tick, 500);
    connect();
  });
})();
