// SPDX-License-Identifier: MIT
//
// The page of `bleota serve` (docs/serve.md, "The page"). No framework, no
// build step: GET /api/devices and /api/desired, the live event stream
// /api/events (Server-Sent Events), POST /api/upload (the raw file, with
// "X-Bleota: 1"), POST /api/update and PUT /api/desired. A token given to
// the page as ?access_token=... is sent with every request.
'use strict';

const $ = (id) => document.getElementById(id);
const token = new URLSearchParams(location.search).get('access_token');

// What the page knows: the devices by id, the uploaded image, live push
// figures per device (rate, steps), which devices are ticked.
const devices = new Map();
const live = new Map();
const picked = new Set();
let image = null;
let desired = null;

const STEPS = [
  ['sent', 'sent'], ['verified', 'verified'], ['committed', 'committed'],
  ['booted', 'rebooted'], ['confirmed', 'confirmed'],
];

const STATES = {
  new: ['Waiting', 'neutral', 'the gateway has not looked at it yet'],
  checking: ['Checking', 'busy', 'reading what it runs'],
  fetching: ['Getting firmware', 'busy', 'downloading or reading the firmware'],
  pushing: ['Updating', 'busy', 'sending the firmware'],
  in_sync: ['Up to date', 'ok', 'runs the version its rule names'],
  refused: ['Refused', 'bad', 'will not be retried until the rule changes'],
  failed: ['Failed', 'warn', 'will be retried'],
  no_rule: ['No rule', 'neutral', 'no rule of the desired state names it'],
};

function api(path, opts = {}) {
  opts.headers = Object.assign({}, opts.headers || {});
  if (token) opts.headers.Authorization = 'Bearer ' + token;
  return fetch(path, opts).then(async (r) => {
    let body = null;
    try { body = await r.json(); } catch (e) { body = null; }
    if (!r.ok) {
      const why = body && body.error ? body.error : r.status + ' ' + r.statusText;
      throw new Error(why);
    }
    return body;
  });
}

function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else e.setAttribute(k, v === true ? '' : v);
  }
  for (const k of kids) if (k !== null && k !== undefined) e.append(k);
  return e;
}

function bytes(n) {
  if (n >= 1048576) return (n / 1048576).toFixed(2) + ' MiB';
  if (n >= 1024) return (n / 1024).toFixed(1) + ' KiB';
  return n + ' bytes';
}

function duration(s) {
  if (!isFinite(s) || s < 0) return '…';
  if (s < 60) return Math.ceil(s) + ' s';
  return Math.floor(s / 60) + ' min ' + Math.ceil(s % 60) + ' s';
}

function show(id, text) {
  const e = $(id);
  e.textContent = text || '';
  e.hidden = !text;
}

// ---- devices -------------------------------------------------------------

function liveOf(id) {
  if (!live.has(id)) live.set(id, { steps: new Set(), t0: 0, b0: 0, rate: 0 });
  return live.get(id);
}

// The boot state as the device reported it (its STATUS, read by the
// gateway after each update and check): never guessed here.
function bootState(d) {
  if (d.last_boot)
    return ['rolled back', 'bad', 'the device reports: ' + d.last_boot +
      '; it went back to the image it ran before'];
  if (d.boot_state === 'VALID')
    return ['VALID', 'ok', 'confirmed, it stays after a reboot'];
  if (d.boot_state === 'PENDING_VERIFY')
    return ['PENDING_VERIFY', 'warn', 'not confirmed yet: the next reboot goes back to the image before'];
  if (d.boot_state) return [d.boot_state, 'neutral', 'boot state reported by the device'];
  return null;
}

function fitProblem(d) {
  if (!image || !d.running) return null;
  if (image.chip && d.running.chip && image.chip !== d.running.chip)
    return 'this firmware is for ' + image.chip + ', the device is ' +
      d.running.chip + ': it will refuse it';
  if (d.running.slot_size && image.size > d.running.slot_size)
    return 'this firmware (' + bytes(image.size) + ') is larger than the ' +
      "device's update slot (" + bytes(d.running.slot_size) + ')';
  return null;
}

function shortName(d) {
  return d.name || d.id.replace(/^unix:.*\//, '');
}

// A message of the push child starts with the device's address: drop it.
function withoutId(d, msg) {
  return msg.startsWith(d.id + ' ') ? msg.slice(d.id.length + 1) : msg;
}

function outcome(d) {
  if (!d.message) return null;
  if (d.state === 'refused' && d.device_status) {
    return el('p', { class: 'msg bad', 'data-role': 'message', 'data-from': 'device',
      'data-status': d.device_status },
      '✗ The device refused the image: ',
      el('code', {}, d.device_status), ' — ',
      withoutId(d, d.message).replace(/ \[[A-Z_]+\]$/, ''));
  }
  if (d.state === 'refused')
    return el('p', { class: 'msg bad', 'data-role': 'message', 'data-from': 'gateway' },
      '✗ Not sent — the gateway\'s check: ' + d.message);
  if (d.state === 'failed')
    return el('p', { class: 'msg warn', 'data-role': 'message' },
      '⚠ ' + withoutId(d, d.message) + (d.retry_in ? ' (retry in ' + d.retry_in + ' s)' : ''));
  // the badge, the facts and the progress bar say it
  if (['in_sync', 'no_rule', 'checking', 'pushing'].includes(d.state)) return null;
  return el('p', { class: 'msg', 'data-role': 'message' }, d.message);
}

// What the push sends (its plan), in plain words: a delta, the image
// compressed, or the whole image and why no delta. During the push and after
// it ("Last push was ..."), from the devices document and the 'plan' event.
function planLine(d, lv) {
  const enc = lv.encoding || d.encoding;
  if (!enc) return null;
  const air = lv.encoding ? lv.airTotal : d.air_total;
  const image = lv.encoding ? lv.image : d.total;
  const plan = (lv.encoding ? lv.plan : d.plan) || '';
  const now = d.state === 'pushing';
  const share = image ? ' — ' + (100 * air / image).toFixed(1) + ' % of the image' : '';
  const onAir = bytes(air) + ' on the air for the ' + bytes(image) + ' image' + share;
  let text;
  if (enc === 'delta') {
    text = (now ? 'Sending a delta' : 'Last push was a delta') +
      ' (only what changed): ' + onAir;
  } else if (enc === 'compressed') {
    text = (now ? 'Sending the image compressed' : 'Last push was the image compressed') +
      ': ' + onAir;
  } else {
    let why = '';
    if (plan.includes('(--full)')) why = 'the gateway runs with --no-delta';
    else if (plan.includes('no delta capability')) why = 'the device does not take deltas';
    else if (plan.includes('not in the image cache') || plan.includes('image cache is off'))
      why = 'it runs an image this gateway did not send';
    else if (plan.includes('would not be smaller')) why = 'a delta would not be smaller';
    text = (now ? 'Sending the whole image' : 'Last push was the whole image') + ', ' +
      bytes(image) + (why ? ' (no delta: ' + why + ')' : '');
  }
  return el('p', { class: 'plan', 'data-role': 'plan', 'data-encoding': enc,
    title: plan }, text);
}

function deviceCard(d) {
  const lv = liveOf(d.id);
  const st = STATES[d.state] || [d.state, 'neutral', ''];
  const run = d.running || {};
  const name = shortName(d);
  const cbId = 'pick-' + btoa(d.id).replace(/[^a-zA-Z0-9]/g, '');
  const cb = el('input', { type: 'checkbox', id: cbId, name: 'dev', value: d.id,
    checked: picked.has(d.id), 'aria-describedby': cbId + '-d' });
  cb.addEventListener('change', () => {
    if (cb.checked) picked.add(d.id); else picked.delete(d.id);
    refreshUpdateButton();
    renderTrust();
  });
  const boot = bootState(d);
  const head = el('div', { class: 'card-head' },
    cb,
    el('label', { for: cbId, class: 'dname' }, name),
    el('span', { class: 'badge ' + st[1], title: st[2], 'data-role': 'state' }, st[0]),
    boot ? el('span', { class: 'badge boot ' + boot[1], title: boot[2],
      'data-role': 'boot' }, boot[0]) : null);

  const runs = run.version
    ? el('dd', { 'data-role': 'running' }, (run.project || '?') + ' ' + run.version + ' ',
      run.tag ? el('span', { class: 'tag', 'data-role': 'tag', title: 'the version tag the device stored' },
        'tag ' + run.tag)
        : el('span', { class: 'tag none', 'data-role': 'tag', title: 'the device stores no version tag' }, 'no tag'))
    : el('dd', { 'data-role': 'running' }, 'not read yet');
  const facts = el('dl', { class: 'facts', id: cbId + '-d' },
    el('dt', {}, 'Runs'), runs,
    boot ? el('dt', {}, 'Boot state') : null,
    boot ? el('dd', { 'data-role': 'boot-text' }, boot[0] + ' — ' + boot[2]) : null,
    el('dt', {}, 'Chip'), el('dd', {}, run.chip || '?'),
    el('dt', {}, 'Should run'), el('dd', {}, d.desired ? d.desired + ' (section 3)' : 'no rule (section 3)'),
    el('dt', {}, 'Address'), el('dd', { class: 'mono' }, d.id),
    d.pushing ? el('dt', {}, 'Sending') : null,
    d.pushing ? el('dd', {}, 'image ' + (d.push_sha256 || '').slice(0, 12) +
      '… (an interrupted transfer resumes)') : null);

  const card = el('article', { class: 'card', 'data-id': d.id,
    'data-state': d.state, 'data-running': run.version || '' }, head, facts);

  // this page's figures once it saw the push start, else the gateway's
  const total = lv.pushed ? lv.total : d.total || 0;
  const done = lv.pushed ? lv.bytes || 0 : d.bytes || 0;
  // a refusal before the first byte (BEGIN) has no transfer to show
  const sentSome = d.state === 'pushing' || done > 0 || lv.sent ||
    STEPS.some(([k]) => lv.steps.has(k));
  if ((d.state === 'pushing' || lv.pushed) && total && sentSome) {
    const pct = total ? Math.min(100, Math.floor((done * 100) / total)) : 0;
    const eta = lv.rate > 0 ? (total - done) / lv.rate : NaN;
    card.append(el('div', { class: 'prog' },
      el('progress', { max: total || 1, value: done,
        'aria-label': 'progress of ' + name }),
      el('span', { class: 'prog-text' },
        pct + ' % — ' + bytes(done) + ' of ' + bytes(total) +
        (lv.rate > 0 ? ' — ' + bytes(lv.rate) + '/s — ' +
          (done >= total ? 'sent' : duration(eta) + ' left') : ''))));
  }
  const plan = planLine(d, lv);
  if (plan) card.append(plan);
  if ((lv.steps.size || lv.sent) && sentSome) {
    const ol = el('ol', { class: 'steps', 'aria-label': 'steps' });
    for (const [key, label] of STEPS) {
      const on = key === 'sent' ? lv.steps.has('verified') || lv.sent
        : lv.steps.has(key);
      ol.append(el('li', { class: on ? 'done' : '', 'data-step': key },
        (on ? '✓ ' : '') + label));
    }
    if (lv.rolledBack)
      ol.append(el('li', { class: 'failed', 'data-step': 'rolled_back' }, '✗ rolled back'));
    card.append(ol);
  }
  const problem = fitProblem(d);
  if (problem && picked.has(d.id) && !['refused', 'pushing'].includes(d.state))
    card.append(el('p', { class: 'msg warn', 'data-role': 'fit' }, '⚠ ' + problem));
  if (d.warning && ['pushing', 'refused', 'failed'].includes(d.state)) // that push's
    card.append(el('p', { class: 'msg warn', 'data-role': 'warning' },
      '⚠ The gateway warned before sending: ' + d.warning.split(d.id).join(name)));
  const out = outcome(d);
  if (out) card.append(out);
  const again = el('button', { type: 'button', class: 'small', 'data-role': 'check',
    id: 'check-' + cbId,
    'aria-label': 'read ' + name + ' again', title: 'read what it runs and its boot state now' },
    'Check now');
  again.disabled = ['checking', 'fetching', 'pushing'].includes(d.state);
  again.addEventListener('click', () => {
    again.disabled = true;
    api('api/push', { method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ device: d.id }) })
      .catch((e) => show('update-error', 'Cannot check ' + name + ': ' + e.message));
  });
  card.append(el('div', { class: 'card-foot' }, again));
  return card;
}

function renderDevices() {
  const box = $('devices');
  const focused = document.activeElement && document.activeElement.id;
  box.replaceChildren();
  if (!devices.size) {
    box.append(el('p', { class: 'empty' },
      'No device known yet: the gateway finds devices through the desired state (section 3).'));
  }
  for (const d of devices.values()) box.append(deviceCard(d));
  if (focused && $(focused)) $(focused).focus();
  renderTrust();
  const ids = $('r-ids');
  ids.replaceChildren(...[...devices.keys()].map((id) => el('option', { value: id })));
  refreshUpdateButton();
}

function loadDevices() {
  return api('api/devices').then((j) => {
    devices.clear();
    for (const d of j.devices) devices.set(d.id, d);
    for (const id of [...picked]) if (!devices.has(id)) picked.delete(id);
    renderDevices();
  });
}

// ---- firmware --------------------------------------------------------------

function refreshUpdateButton() {
  const b = $('update');
  let why = '';
  const busy = [...picked].filter((id) => devices.has(id) &&
    ['checking', 'fetching', 'pushing'].includes(devices.get(id).state));
  if (!image) why = 'Choose a firmware file first.';
  else if (!picked.size) why = 'Tick at least one device.';
  else if (busy.length) why = 'Wait: ' + busy.length + (busy.length === 1 ? ' ticked device is' : ' ticked devices are') + ' being worked on.';
  b.disabled = !!why;
  const already = !why && [...picked].every((id) => devices.has(id) &&
    devices.get(id).running && devices.get(id).running.version === image.version &&
    devices.get(id).running.project === image.project);
  if (already)
    why = picked.size === 1 ? 'It already runs this version.'
      : 'They all run this version already.';
  b.textContent = image && picked.size
    ? 'Update ' + picked.size + (picked.size === 1 ? ' device' : ' devices') +
      ' to ' + image.project + ' ' + image.version
    : 'Update';
  $('update-why').textContent = why;
}

function sigText(s) {
  if (!s.valid)
    return 'block ' + s.block + ': INVALID — ' + s.problem +
      (s.scheme ? ' (' + s.scheme + ', key ' + s.key_digest.slice(0, 16) + '…)' : '');
  return 'block ' + s.block + ': ' + s.scheme + ', key ' + s.key_digest.slice(0, 16) + '… — valid';
}

// Will this device accept the image's signature? As the device decides:
// a device that requires signed images takes a valid block whose key
// digest it lists (INFO trusted keys); listing none, the key of its
// running app's block 0, which only the device knows.
function trustOf(d) {
  const run = d.running;
  if (!image || !run) return null;
  const ok = image.signatures.filter((s) => s.valid);
  const keys = run.trusted_keys || [];
  const hit = ok.find((s) => keys.includes(s.key_digest));
  if (hit) return ['ok', 'trusts the key of block ' + hit.block];
  if (!run.signed_only)
    return ['ok', image.signatures.length
      ? 'does not require a signature (lists no key of this image)'
      : 'does not require a signature'];
  if (!ok.length) return ['bad', 'requires a signed image: it will refuse this one'];
  if (!keys.length)
    return ['warn', 'accepts only its running app\'s key: the device decides'];
  return ['bad', 'trusts none of this image\'s keys: it will refuse it'];
}

function renderTrust() {
  const ul = $('fw-trust');
  if (!image) { ul.replaceChildren(); return; }
  const ids = picked.size ? [...picked] : [...devices.keys()];
  ul.replaceChildren(...ids.filter((id) => devices.has(id)).map((id) => {
    const d = devices.get(id);
    const t = trustOf(d);
    return el('li', { class: t ? t[0] : '', 'data-id': id },
      shortName(d) + ': ' + (t ? t[1] : 'not read yet'));
  }));
  $('fw-trust-h').textContent = picked.size ? 'Signature, for the ticked devices'
    : 'Signature, for each device';
}

function showImage(j, name) {
  const dl = $('fw-facts');
  const rows = [
    ['File', name], ['Project', j.project], ['Version', j.version],
    ['Chip', j.chip || 'not stated'], ['Size', bytes(j.size) + ' (' + j.size + ' bytes)'],
    ['Secure version', String(j.secure_version)],
    ['Signature', j.signatures.length ? j.signatures.map(sigText).join('; ') : 'not signed'],
    ['SHA-256', j.sha256],
  ];
  dl.replaceChildren(...rows.flatMap(([k, v]) => [el('dt', {}, k),
    el('dd', { class: k === 'SHA-256' ? 'mono' : null,
      'data-fact': k.toLowerCase().replace(/ /g, '_') }, v)]));
  $('fw-title').textContent = '✓ A valid app image: ' + j.project + ' ' + j.version;
  $('fw-info').hidden = false;
  renderTrust();
}

function upload(file) {
  image = null;
  $('fw-info').hidden = true;
  show('fw-error', '');
  show('update-error', '');
  refreshUpdateButton();
  $('chosen').textContent = file ? 'Chosen: ' + file.name : '';
  if (!file) return;
  $('drop').classList.add('busy');
  $('fw-title').textContent = '';
  api('api/upload', { method: 'POST', body: file,
    headers: { 'X-Bleota': '1', 'Content-Type': 'application/octet-stream' } })
    .then((j) => { image = j; showImage(j, file.name); renderDevices(); })
    .catch((e) => show('fw-error', file.name + ': ' + e.message))
    .finally(() => { $('drop').classList.remove('busy'); refreshUpdateButton(); });
}

function startUpdate() {
  if (!image || !picked.size) return;
  show('update-error', '');
  const ids = [...picked];
  for (const id of ids) {
    live.set(id, { steps: new Set(), t0: 0, b0: 0, rate: 0 });
  }
  $('update').disabled = true;
  api('api/update', { method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ sha256: image.sha256, devices: ids }) })
    .then((j) => { desired = j; renderRules(); return loadDevices(); })
    .catch((e) => show('update-error', 'The update was not started: ' + e.message))
    .finally(refreshUpdateButton);
}

// ---- desired state -----------------------------------------------------------

function renderRules() {
  const ol = $('rules');
  ol.replaceChildren();
  if (!desired) return;
  $('des-source').textContent = desired.source ? 'From ' + desired.source + '.' : '';
  const rules = desired.document && desired.document.devices ? desired.document.devices : [];
  if (!rules.length) ol.append(el('li', { class: 'empty' }, 'No rule: the gateway leaves every device as it is.'));
  rules.forEach((r, i) => {
    const src = r.url || (r.file && r.file.includes('/cache/sha256/')
      ? 'an uploaded file' : r.file);
    const rm = el('button', { type: 'button', class: 'small',
      'aria-label': 'remove the rule for ' + r.match }, 'Remove');
    rm.addEventListener('click', () => {
      const doc = JSON.parse(JSON.stringify(desired.document));
      doc.devices.splice(i, 1);
      putDesired(doc);
    });
    ol.append(el('li', {},
      el('span', { class: 'mono' }, r.match), ' → ',
      el('strong', {}, r.version), el('span', { class: 'src' }, ' from ' + src), ' ', rm));
  });
}

function loadDesired() {
  return api('api/desired').then((j) => { desired = j; renderRules(); });
}

function putDesired(doc) {
  show('des-error', '');
  return api('api/desired', { method: 'PUT',
    headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(doc) })
    .then((j) => { desired = j; renderRules(); })
    .catch((e) => show('des-error', 'Not saved: ' + e.message));
}

function addRule(ev) {
  ev.preventDefault();
  const rule = { match: $('r-match').value.trim(), version: $('r-version').value.trim() };
  if ($('r-src-file').checked) {
    if (!image) { show('des-error', 'Upload a firmware file first (section 1).'); return; }
    rule.file = image.file;
    rule.sha256 = image.sha256;
  } else {
    rule.url = $('r-url').value.trim();
    if (!rule.url) { show('des-error', 'Give the firmware URL.'); return; }
  }
  const doc = desired && desired.document ? JSON.parse(JSON.stringify(desired.document)) : {};
  doc.devices = [rule].concat(doc.devices || []);
  putDesired(doc).then(() => $('rule-form').reset());
}

// ---- the event stream ----------------------------------------------------------

let reload = null;
function soon() { // many events in a burst: one reload
  if (!reload) reload = setTimeout(() => { reload = null; loadDevices(); }, 150);
}

function onEvent(name, j) {
  const id = j.device;
  const lv = id ? liveOf(id) : null;
  const d = id ? devices.get(id) : null;
  switch (name) {
    case 'push':
      lv.steps = new Set(); lv.t0 = 0; lv.rate = 0; lv.pushed = true; lv.sent = false;
      lv.rolledBack = false; lv.total = j.bytes; lv.bytes = 0; lv.encoding = null;
      break;
    case 'plan':
      lv.encoding = j.encoding; lv.airTotal = j.air_total; lv.image = j.image;
      lv.plan = j.message;
      break;
    case 'progress': {
      const now = performance.now() / 1000;
      if (!lv.t0) { lv.t0 = now; lv.b0 = j.bytes; }
      else if (now > lv.t0 + 0.2) lv.rate = (j.bytes - lv.b0) / (now - lv.t0);
      lv.bytes = j.bytes; lv.total = j.total; lv.pushed = true;
      if (j.bytes >= j.total) lv.sent = true;
      if (d) { d.bytes = j.bytes; d.total = j.total; }
      break;
    }
    case 'step':
      lv.steps.add(j.step);
      if (j.step === 'verified') lv.sent = true;
      break;
    case 'rollback':
      lv.rolledBack = true;
      break;
    case 'updated':
      lv.steps.add('confirmed');
      break;
    case 'device': // a new check: the last push's figures are history
      if (j.state === 'checking') live.delete(id);
      break;
    case 'desired':
      loadDesired();
      break;
    default:
      break;
  }
  if (name === 'progress' && d) renderDevices();
  else soon();
}

function connect() {
  const es = new EventSource('api/events' + (token ? '?access_token=' + encodeURIComponent(token) : ''));
  es.onopen = () => { $('live').textContent = '● live'; $('live').className = 'live on'; loadDevices(); loadDesired(); };
  es.onerror = () => { $('live').textContent = 'connection lost, reconnecting…'; $('live').className = 'live off'; };
  for (const n of ['device', 'push', 'plan', 'progress', 'resumed', 'step', 'updated', 'rollback',
    'desired', 'desired_error', 'fetched', 'fetch_failed', 'warning']) {
    es.addEventListener(n, (m) => { try { onEvent(n, JSON.parse(m.data)); } catch (e) { /* keep going */ } });
  }
}

// ---- wiring -----------------------------------------------------------------------

document.addEventListener('DOMContentLoaded', () => {
  $('file').addEventListener('change', (e) => upload(e.target.files[0]));
  const drop = $('drop');
  for (const t of ['dragenter', 'dragover']) {
    drop.addEventListener(t, (e) => { e.preventDefault(); drop.classList.add('over'); });
  }
  for (const t of ['dragleave', 'drop']) {
    drop.addEventListener(t, () => drop.classList.remove('over'));
  }
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    if (e.dataTransfer.files.length) upload(e.dataTransfer.files[0]);
  });
  $('update').addEventListener('click', startUpdate);
  $('rule-form').addEventListener('submit', addRule);
  refreshUpdateButton();
  loadDevices().catch((e) => show('update-error', 'Cannot read the devices: ' + e.message));
  loadDesired().catch(() => {});
  connect();
});
