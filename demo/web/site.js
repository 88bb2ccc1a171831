// The website page: WebAuthn in the browser, verification on the server (/site/api/*).
// window.site.register(user) and window.site.signIn() return the server's outcome, so a
// test (CDP, Selenium) can drive the page; ?auto=register&user=NAME or ?auto=sign_in runs one
// ceremony on load (the demo's visits); ?tag=… is passed to the server with the result.
'use strict';

(function () {
  const $ = (id) => document.getElementById(id);
  const params = new URLSearchParams(location.search);
  const tag = (params.get('tag') || '').slice(0, 64);

  async function post(path, body) {
    const r = await fetch(path, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
    const j = await r.json().catch(() => ({ error: 'the server answered ' + r.status }));
    if (!r.ok && !j.error) j.error = 'the server answered ' + r.status;
    return j;
  }

  function show(state, text, outcome) {
    document.body.dataset.state = state;
    document.body.dataset.outcome = outcome ? outcome.kind : '';
    $('status').textContent = text;
    const facts = $('facts');
    if (!outcome) { facts.hidden = true; return; }
    facts.hidden = false;
    $('fact-user').textContent = outcome.display_name ? outcome.display_name + ' (' + outcome.user + ')' : (outcome.user || '—');
    $('fact-profile').textContent = outcome.profile || '—';
    $('fact-passkey').textContent = outcome.passkey
      ? outcome.passkey.kind + ', ' + outcome.passkey.provider + (outcome.passkey.attested ? ', attested' : '')
      : '—';
    $('fact-rule').textContent = outcome.rule || '—';
  }

  function sentence(o) {
    switch (o.kind) {
      case 'registered': return 'Passkey created for ' + (o.display_name || o.user) + '.';
      case 'signed_in': return 'Signed in as ' + (o.display_name || o.user) + '.';
      case 'refused': return 'Refused: ' + o.reason;
      default: return 'Failed: ' + (o.reason || 'unknown error');
    }
  }

  async function ceremony(kind, begin, run) {
    show('busy', kind === 'register' ? 'Creating a passkey: follow your browser…' : 'Signing in: follow your browser…');
    const b = await begin();
    if (b.error) { show('done', 'Failed: ' + b.error, { kind: 'failed', reason: b.error }); return { kind: 'failed', reason: b.error }; }
    let credential;
    try {
      credential = await run(b.publicKey);
    } catch (e) {
      const message = (e && e.name ? e.name + ': ' : '') + (e && e.message ? e.message : String(e));
      await post('/site/api/client-error', { kind, message, tag });
      const o = { kind: 'failed', reason: 'the browser reported ' + message };
      show('done', 'Failed: the browser reported ' + message, o);
      return o;
    }
    show('busy', 'Checking the passkey…');
    const o = await post('/site/api/finish', { ceremony: b.ceremony, credential: credential.toJSON(), tag });
    if (o.error && !o.kind) { o.kind = 'failed'; o.reason = o.error; }
    show('done', sentence(o), o);
    return o;
  }

  function register(user) {
    return ceremony('register', () => post('/site/api/register/begin', { user }), (pk) =>
      navigator.credentials.create({ publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(pk) }));
  }

  function signIn() {
    return ceremony('sign_in', () => post('/site/api/sign-in/begin', {}), (pk) =>
      navigator.credentials.get({ publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(pk) }));
  }

  window.site = { register, signIn };

  document.addEventListener('DOMContentLoaded', () => {
    $('register-form').addEventListener('submit', (e) => { e.preventDefault(); register($('user').value.trim()); });
    $('btn-sign-in').addEventListener('click', () => { signIn(); });
    const auto = params.get('auto');
    if (auto === 'register') register(params.get('user') || '');
    else if (auto === 'sign_in') signIn();
  });
})();
