#!/usr/bin/python3
# SPDX-License-Identifier: MIT
#
# make test-web: the page of `bleota serve` in a real browser (Debian's
# chromium, headless, driven over the DevTools protocol with
# python3-websocket; run with /usr/bin/python3).
#
# Two simulated ESP32-C3 devices (bleota-peripheral on unix sockets, link
# throttled to 150 KiB/s so progress is visible) run blinky 1.0.0; dev2
# accepts only images signed with a key made here (--trusted-key). The
# gateway's desired state names both at 1.0.0, so it knows them and pushes
# nothing. Then, as a user would:
#   web/upload:    a text file shows the reason on the page; a file
#                  dropped on the drop zone is checked and described.
#   web/update:    upload blinky 2.0.0 (signed) through the file input: the
#                  facts are `bleota image info`'s (signature block, key
#                  digest) and each device's trust of that key; tick both
#                  devices, press Update, wait until both cards show 2.0.0
#                  confirmed; `bleota status` says both run 2.0.0 VALID and
#                  the boot badge says what the device's STATUS says; the
#                  running version shows its tag or "no tag" as INFO has;
#                  the card says what went on the air (the whole image or
#                  compressed: no delta base yet) as /api/devices does.
#   web/wrongchip: upload an ESP32-S3 image, untick dev2 and press Update
#                  with the keyboard only: the gateway warns but sends it,
#                  the DEVICE refuses (WRONG_CHIP in the card, from the push's
#                  outcome; the peripheral's own log says it refused);
#                  `bleota status` is unchanged. "Check now" then runs the
#                  reconcile loop, whose pre-flight refuses it without
#                  sending (labelled as the gateway's check).
#   web/desired:   a rule removed and one added on the page: the
#                  configuration file and the device follow.
#   web/pending, web/rollback: outside the page, dev2 gets an image it
#                  reboots into and does not confirm: "Check now" on its
#                  card, the gateway's push of 2.0.0 is refused by the device
#                  (PENDING_CONFIRM) and the badge is PENDING_VERIFY as
#                  `bleota status` says; dev2 reboots again (the bootloader
#                  rolls back); "Check now": the badge says "rolled back"
#                  with the device's last_boot words, as `bleota status`.
#   web/delta:     dev1 (2.0.0, delivered by the gateway) updated on the
#                  page to 2.1.0: sent as a delta from the gateway's image
#                  cache, and the card says "Last push was a delta
#                  (only what changed): ... — P % of the image" as
#                  /api/devices says.
#   web/phone:     the page at 375 and 390 px width has no horizontal
#                  scrolling.
#   web/keyboard:  Tab reaches the file input first.
#   web/security:  a path outside the page's files is 404; an upload
#                  without "X-Bleota: 1" is refused; the CSP header is set.
# Screenshots go to BUILD/web/*.png. Prints "web: N passed, N failed".
#
# usage: test_web.py [BUILD_DIR]
import base64
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

import websocket

B = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else 'build')
BLEOTA = os.path.join(B, 'bleota')
PERIPH = os.path.join(B, 'bleota-peripheral')
MKIMAGE = os.path.join(B, 'tests', 'tools', 'mkimage')
CHROMIUM = next((p for p in ('/usr/lib/chromium/chromium', '/usr/bin/chromium')
                 if os.path.exists(p)), None)
OUT = os.path.join(B, 'web')
W = os.path.join(OUT, 'work')
procs = []
passed = failed = 0


def check(name, ok, detail=''):
    global passed, failed
    if ok:
        passed += 1
        print('ok   %s' % name)
    else:
        failed += 1
        print('FAIL %s%s' % (name, ': ' + detail if detail else ''))
    return ok


def run(*args):
    return subprocess.run(args, capture_output=True, text=True, timeout=60)


def start(args, log):
    p = subprocess.Popen(args, stdout=open(log, 'w'), stderr=subprocess.STDOUT,
                         start_new_session=True)
    procs.append(p)
    return p


def wait_for(what, fn, timeout=30.0, step=0.05):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = fn()
        if v:
            return v
        time.sleep(step)
    raise TimeoutError('timed out waiting for ' + what)


def status(sock):
    r = run(BLEOTA, 'status', '--json', 'unix:' + sock)
    return r.stdout if r.returncode == 0 else 'ERROR ' + r.stderr


def event_of(out, name):
    for line in out.splitlines():
        try:
            j = json.loads(line)
        except ValueError:
            continue
        if j.get('event') == name:
            return j
    return {}


def info(sock):
    return event_of(run(BLEOTA, 'info', '--json', 'unix:' + sock).stdout, 'info')


def info_version(sock):
    return info(sock).get('version')


def boot(sock):
    return event_of(status(sock), 'status')


def events(log, name):
    out = []
    for line in open(log):
        try:
            j = json.loads(line)
        except ValueError:
            continue
        if j.get('event') == name:
            out.append(j)
    return out


class Page:
    """A headless chromium tab over the DevTools protocol."""

    def __init__(self, profile):
        self.proc = start([CHROMIUM, '--headless=new', '--no-sandbox', '--disable-gpu',
                           '--disable-dev-shm-usage', '--remote-debugging-port=0',
                           '--user-data-dir=' + profile, '--no-first-run',
                           'about:blank'], os.path.join(OUT, 'chromium.log'))
        port_file = os.path.join(profile, 'DevToolsActivePort')
        port = wait_for('chromium', lambda: os.path.exists(port_file) and
                        open(port_file).read().split('\n')[0].strip())
        targets = json.load(urllib.request.urlopen('http://127.0.0.1:%s/json/list' % port))
        url = next(t['webSocketDebuggerUrl'] for t in targets if t['type'] == 'page')
        self.ws = websocket.create_connection(url, suppress_origin=True, timeout=30)
        self.n = 0
        self.errors = []
        for m in ('Page.enable', 'Runtime.enable', 'DOM.enable'):
            self.call(m)

    def call(self, method, **params):
        self.n += 1
        self.ws.send(json.dumps({'id': self.n, 'method': method, 'params': params}))
        while True:
            m = json.loads(self.ws.recv())
            if m.get('method') == 'Runtime.exceptionThrown':
                self.errors.append(m['params']['exceptionDetails'].get('text'))
            if m.get('id') == self.n:
                if 'error' in m:
                    raise RuntimeError('%s: %s' % (method, m['error']))
                return m.get('result', {})

    def js(self, expr):
        r = self.call('Runtime.evaluate', expression=expr, returnByValue=True,
                      awaitPromise=True)
        if 'exceptionDetails' in r:
            raise RuntimeError('%s: %s' % (expr, r['exceptionDetails']))
        return r['result'].get('value')

    def size(self, width, height, mobile=False):
        self.call('Emulation.setDeviceMetricsOverride', width=width, height=height,
                  deviceScaleFactor=1, mobile=mobile)

    def goto(self, url):
        self.call('Page.navigate', url=url)
        time.sleep(0.2)
        wait_for('the page', lambda: self.js('document.readyState') == 'complete')

    def wait(self, what, expr, timeout=60.0):
        return wait_for(what, lambda: self.js(expr), timeout, 0.1)

    def key(self, name):
        code = {'Tab': 9, 'Enter': 13, ' ': 32}[name]
        extra = {'Enter': {'text': '\r'}, ' ': {'text': ' '}}.get(name, {})
        self.call('Input.dispatchKeyEvent', type='keyDown', key=name,
                  code='Space' if name == ' ' else name,
                  windowsVirtualKeyCode=code, **extra)
        self.call('Input.dispatchKeyEvent', type='keyUp', key=name,
                  code='Space' if name == ' ' else name, windowsVirtualKeyCode=code)

    def tab_to(self, expr, limit=40):
        """Tab until document.activeElement satisfies @expr (a JS
        expression over `a`); False if it never does."""
        for _ in range(limit):
            self.key('Tab')
            if self.js('(() => { const a = document.activeElement; return !!(%s); })()'
                       % expr):
                return True
        return False

    def set_file(self, selector, path):
        root = self.call('DOM.getDocument')['root']['nodeId']
        node = self.call('DOM.querySelector', nodeId=root, selector=selector)['nodeId']
        self.call('DOM.setFileInputFiles', files=[path], nodeId=node)

    def shot(self, name, full=True):
        if full:
            h = self.js('Math.ceil(document.documentElement.scrollHeight)')
            w = self.js('window.innerWidth')
            self.size(w, h, w < 500)
        data = self.call('Page.captureScreenshot', format='png')['data']
        with open(os.path.join(OUT, name), 'wb') as f:
            f.write(base64.b64decode(data))

    def close(self):
        try:
            self.call('Browser.close')
        except Exception:
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def card(sock, what):
    return "(() => { const c = document.querySelector('.card[data-id=\"unix:%s\"]'); " \
           "return c ? %s : null; })()" % (sock, what)


def check_now(page, sock, what, cond, timeout=30):
    """Press the card's "Check now" and wait until @cond (a JS expression
    over the card `c`) is truthy: its value, or the card's text."""
    page.js(card(sock, "c.querySelector('[data-role=check]').click()"))
    try:
        return page.wait(what, card(sock, cond), timeout)
    except TimeoutError:
        return page.js(card(sock, 'c.textContent'))


def http(url, method='GET', data=None, headers=None):
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def main():
    if not CHROMIUM:
        print('web: chromium is not installed (make test-web installs it)')
        return 2
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(W)
    # this test's own `bleota push` never touches the user's image cache
    # (the gateway's pushes use its state directory's)
    os.environ['BLEOTA_IMAGE_CACHE'] = 'off'
    img = {}
    for name, args in (('v1', ['--version', '1.0.0', '--segments', 'drom:40000,irom:100000,dram:4096']),
                       ('v2', ['--version', '2.0.0', '--segments', 'drom:90000,irom:300000,dram:4096']),
                       ('s3', ['--version', '3.0.0', '--chip', 'esp32s3',
                               '--segments', 'drom:40000,irom:100000,dram:4096']),
                       ('v3', ['--version', '3.0.0', '--segments', 'drom:4000,irom:10000,dram:4096']),
                       # 2.0.0 with another version string: a small delta
                       ('v4', ['--version', '2.1.0', '--segments', 'drom:90000,irom:300000,dram:4096'])):
        img[name] = os.path.join(W, 'blinky-%s.bin' % name)
        r = run(MKIMAGE, '--project', 'blinky', *args, img[name])
        assert r.returncode == 0, r.stderr
    # a signing key: dev2 trusts it; 1.0.0 (so that a gateway that compares
    # version tags can send it to dev2, which answers SAME_AS_RUNNING), 2.0.0
    # and the never-confirmed 3.0.0 are signed with it
    key = os.path.join(W, 'key.pem')
    r = run('openssl', 'ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', key)
    assert r.returncode == 0, r.stderr
    for name in ('v1', 'v2', 'v3', 'v4'):
        signed = os.path.join(W, 'blinky-%s-signed.bin' % name)
        r = run(BLEOTA, 'image', 'sign', '--key', key, img[name], signed)
        assert r.returncode == 0, r.stderr
        img[name] = signed
    socks = []
    for i in (1, 2):
        flash = os.path.join(W, 'dev%d.flash' % i)
        sock = os.path.join(W, 'dev%d.sock' % i)
        r = run(BLEOTA, 'flash', 'create', flash, '--size', '4M', '--layout', 'two-ota',
                '--app', img['v1'])
        assert r.returncode == 0, r.stderr
        start([PERIPH, '--flash', flash, '--listen', 'unix:' + sock, '--impair', 'rate=150K']
              + (['--trusted-key', key] if i == 2 else []),
              os.path.join(OUT, 'dev%d.log' % i))
        socks.append(sock)
    for s in socks:
        wait_for('device ' + s, lambda s=s: os.path.exists(s))
    config = os.path.join(W, 'desired.json')
    with open(config, 'w') as f:
        json.dump({'comment': 'two bench devices at their current version',
                   'devices': [{'match': 'unix:' + s, 'file': img['v1'], 'version': '1.0.0'}
                               for s in socks]}, f, indent=2)
    log = os.path.join(OUT, 'serve.log')
    start([BLEOTA, 'serve', '--config', config, '--state-dir', os.path.join(W, 'state'),
           '--listen', '127.0.0.1:0', '--json'], log)

    def api_url(log=log):
        for line in open(log):
            try:
                j = json.loads(line)
            except ValueError:
                continue
            if j.get('event') == 'serving':
                return j['api']
        return None
    url = wait_for('the gateway', api_url)

    # The gateway knows both devices and leaves them alone.
    def both_in_sync():
        _, _, body = http(url + 'api/devices')
        devs = json.loads(body)['devices']
        return len(devs) == 2 and all(d['state'] == 'in_sync' for d in devs)
    wait_for('both devices in sync at 1.0.0', both_in_sync)

    # --- security of the page's serving
    st, hd, _ = http(url)
    check('web/security/page_csp', st == 200 and
          "default-src 'self'" in hd.get('Content-Security-Policy', ''), str(hd))
    st, _, _ = http(url + '../../etc/passwd')
    st2, _, _ = http(url + 'web/index.html')
    st3, _, _ = http(url + 'app.js/')
    check('web/security/only_known_names', st == 404 and st2 == 404 and st3 == 404,
          '%d %d %d' % (st, st2, st3))
    st, _, _ = http(url, headers={'Host': 'rebound.example:8417'})
    check('web/security/page_needs_loopback_host', st == 403, str(st))
    with open(img['v2'], 'rb') as f:
        v2 = f.read()
    st, _, _ = http(url + 'api/upload', 'POST', v2, {'Content-Type': 'text/plain'})
    check('web/security/upload_needs_header', st == 403, str(st))
    st, _, body = http(url + 'api/upload', 'POST', v2 + b'\0' * (4 << 20),
                       {'X-Bleota': '1'})
    check('web/security/upload_limited_to_slot', st == 413 and b'update slot' in body,
          '%d %s' % (st, body[:200]))

    st, _, body = http(url + 'api/upload', 'POST', b'hello, not firmware\n' * 50,
                       {'X-Bleota': '1'})
    check('web/api/upload_invalid_422', st == 422 and
          b'not a valid app image' in body, '%d %s' % (st, body[:200]))
    before = open(config).read()
    st, _, body = http(url + 'api/desired', 'PUT', b'{"devices": [{"match": "*"}]}',
                       {'Content-Type': 'application/json'})
    check('web/api/put_desired_invalid_400', st == 400 and b'version' in body and
          open(config).read() == before, '%d %s' % (st, body[:200]))
    st, _, body = http(url + 'api/update', 'POST',
                       json.dumps({'sha256': '0' * 64, 'devices': ['unix:/nowhere']}).encode(),
                       {'Content-Type': 'application/json'})
    check('web/api/update_unknown_device_404', st == 404 and b'no such device' in body,
          '%d %s' % (st, body[:200]))

    page = Page(os.path.join(W, 'profile'))
    try:
        page.size(1100, 800)
        page.goto(url)
        page.wait('two device cards', "document.querySelectorAll('.card').length === 2")
        badges = page.js("[...document.querySelectorAll('.card')].map(c => "
                         "c.querySelector('[data-role=boot]') ? "
                         "c.querySelector('[data-role=boot]').textContent : '')")
        check('web/start/boot_badges_as_status_says', badges ==
              [boot(s).get('state') for s in socks] == ['VALID', 'VALID'], str(badges))
        page.shot('1-start.png')
        page.size(1100, 800)

        # --- a file that is not firmware: the reason on the page
        junk = os.path.join(W, 'notes.txt')
        with open(junk, 'w') as f:
            f.write('meeting notes, not firmware\n' * 40)
        page.set_file('#file', junk)
        err = page.wait('the upload error', "!document.getElementById('fw-error').hidden && "
                        "document.getElementById('fw-error').textContent")
        check('web/upload/error_in_plain_words', 'notes.txt' in err and
              'not a valid app image' in err and
              page.js("document.getElementById('update').disabled"), err)
        page.shot('0-not-firmware.png')
        page.size(1100, 800)

        # --- drag and drop onto the drop zone (v1, the running version)
        box = page.js("(() => { const r = document.getElementById('drop')"
                      ".getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; })()")
        for t in ('dragEnter', 'dragOver', 'drop'):
            page.call('Input.dispatchDragEvent', type=t, x=box[0], y=box[1],
                      data={'items': [], 'files': [img['v1']], 'dragOperationsMask': 1})
        try:
            t = page.wait('the dropped file facts', "!document.getElementById('fw-info').hidden"
                          " && document.getElementById('fw-title').textContent", 15)
        except TimeoutError:
            t = page.js("document.getElementById('chosen').textContent")
        check('web/upload/drag_and_drop', '1.0.0' in str(t), str(t))

        # --- upload v2 through the file input, tick both, Update
        page.set_file('#file', img['v2'])
        page.wait('the image facts', "!document.getElementById('fw-info').hidden")
        facts = page.js("document.getElementById('fw-facts').textContent")
        # the key digest and validity `bleota image info` prints
        cli = run(BLEOTA, 'image', 'info', img['v2']).stdout
        blk = [ln.split() for ln in cli.splitlines() if ln.strip().startswith('block 0:')]
        digest = blk[0][blk[0].index('digest') + 1] if blk else '?'
        sig = page.js("document.querySelector('[data-fact=signature]').textContent")
        check('web/update/image_facts', all(s in facts for s in
              ('blinky', '2.0.0', 'esp32c3', 'Secure version')) and
              'ECDSA-P256' in sig and digest[:16] in sig and 'valid' in sig and
              '(valid)' in cli, facts + ' | ' + cli)
        trust = page.js("[...document.querySelectorAll('#fw-trust li')].map(l => "
                        "l.dataset.id + ' => ' + l.textContent)")
        check('web/update/image_trust_per_device', len(trust) == 2 and
              'does not require a signature' in trust[0] and
              'trusts the key of block 0' in trust[1], str(trust))
        for s in socks:
            page.js(card(s, "c.querySelector('input[name=dev]').click()"))
        check('web/update/button_names_target',
              page.js("document.getElementById('update').textContent") ==
              'Update 2 devices to blinky 2.0.0')
        page.js("document.getElementById('update').click()")
        page.wait('a progress bar', card(socks[0], "!!c.querySelector('progress')"), 30)
        page.wait('some progress', card(socks[0],
                  "c.querySelector('progress').value > 60000"), 30)
        time.sleep(0.4)
        page.shot('2-updating.png')
        page.size(1100, 800)
        texts = [page.js(card(s, "c.querySelector('.prog-text') ? "
                              "c.querySelector('.prog-text').textContent : ''")) for s in socks]
        check('web/update/rate_and_eta', any('/s' in t and 'left' in t for t in texts), str(texts))
        ok = True
        for s in socks:
            try:
                page.wait('confirmed 2.0.0', card(s, "c.dataset.running === '2.0.0' && "
                          "c.dataset.state === 'in_sync' && "
                          "!!c.querySelector('[data-step=confirmed].done')"), 60)
            except TimeoutError:
                ok = False
        check('web/update/both_confirmed_on_page', ok,
              str([page.js(card(s, 'c.textContent')) for s in socks]))
        page.shot('3-updated.png')
        # what went on the air, in words on the card, as /api/devices says
        # (1.0.0 was flashed, not pushed: no delta base in the gateway's cache)
        _, _, body = http(url + 'api/devices')
        devs = {d['id']: d for d in json.loads(body)['devices']}
        for s in socks:
            d = devs.get('unix:' + s, {})
            line = page.js(card(s, "c.querySelector('[data-role=plan]') ? "
                                "c.querySelector('[data-role=plan]').textContent : ''"))
            enc = d.get('encoding')
            words = {'plain': 'Last push was the whole image, ',
                     'compressed': 'Last push was the image compressed: ',
                     'delta': 'Last push was a delta'}.get(enc, '?')
            check('web/update/plan_on_card_%s' % os.path.basename(s),
                  enc in ('plain', 'compressed') and line.startswith(words) and
                  (enc != 'compressed' or '% of the image' in line) and
                  (enc != 'plain' or 'this gateway did not send' in line),
                  'page %r, api %r' % (line, {k: d.get(k) for k in
                                               ('encoding', 'air_total', 'total', 'plan')}))
        why = page.js("document.getElementById('update-why').textContent")
        check('web/update/button_says_already_there', why == 'They all run this version '
              'already.' and not page.js("document.getElementById('update').disabled"), why)
        for s in socks:
            st = status(s)
            check('web/update/status_%s' % os.path.basename(s),
                  info_version(s) == '2.0.0' and 'VALID' in st, st)
            b = boot(s)
            badge = page.js(card(s, "c.querySelector('[data-role=boot]') ? "
                                 "c.querySelector('[data-role=boot]').textContent : ''"))
            check('web/update/boot_badge_is_device_status_%s' % os.path.basename(s),
                  badge == b.get('state') == 'VALID' and not b.get('last_boot'),
                  'badge %r, status %r' % (badge, b))
            i = info(s)
            tag = page.js(card(s, "c.querySelector('[data-role=tag]') && "
                               "c.querySelector('[data-role=tag]').textContent"))
            check('web/update/tag_as_info_says_%s' % os.path.basename(s),
                  tag == ('tag ' + i['tag'] if i.get('tag') else 'no tag'),
                  'page %r, info %r' % (tag, i))

        # --- wrong chip, with the keyboard only: the gateway warns, sends
        # it anyway (an explicit Update), and the device refuses
        before = status(socks[0])
        page.size(1100, 800)
        page.set_file('#file', img['s3'])
        page.wait('the S3 image facts', "document.getElementById('fw-facts').textContent"
                  ".includes('esp32s3')")
        # both are still ticked: untick the second with Space, the first
        # gets the S3 image; then Tab to Update and press Enter
        page.js("document.getElementById('file').focus()")
        cb2 = card(socks[1], "c.querySelector('input[name=dev]').id")
        reached = page.tab_to("a.id === %s" % json.dumps(page.js(cb2)))
        if reached:
            page.key(' ')
        ok = reached and page.js("document.getElementById('update').textContent") == \
            'Update 1 device to blinky 3.0.0'
        fit = page.js(card(socks[0], "c.querySelector('[data-role=fit]') ? "
                           "c.querySelector('[data-role=fit]').textContent : ''"))
        ok = ok and page.tab_to("a.id === 'update'")
        if ok:
            page.key('Enter')
        check('web/keyboard/untick_and_update_with_keys', ok and
              page.wait('the push of the S3 image', "!!document.querySelector("
                        "'.card[data-id=\"unix:%s\"][data-state=pushing], "
                        ".card[data-id=\"unix:%s\"][data-state=refused]')" % (socks[0], socks[0]), 30),
              page.js('document.activeElement.outerHTML'))
        check('web/wrongchip/page_warns_before', 'esp32s3' in fit and 'refuse' in fit, fit)
        try:
            msg = page.wait('the refusal', card(socks[0],
                            "c.dataset.state === 'refused' && "
                            "c.querySelector('[data-role=message]') && "
                            "[c.querySelector('[data-role=message]').dataset.from, "
                            "c.querySelector('[data-role=message]').dataset.status, "
                            "c.querySelector('[data-role=message]').textContent, "
                            "c.querySelector('[data-role=warning]') ? "
                            "c.querySelector('[data-role=warning]').textContent : '']"), 60)
        except TimeoutError:
            msg = [None, None, page.js(card(socks[0], 'c.textContent')), '']
        pushes = [e for e in events(log, 'push') if e['device'] == 'unix:' + socks[0] and
                  e['version'] == '3.0.0']
        dev_log = open(os.path.join(OUT, 'dev1.log')).read()
        check('web/wrongchip/device_refusal_on_page',
              msg[0] == 'device' and msg[1] == 'WRONG_CHIP' and 'esp32c3' in msg[2] and
              'esp32s3' in msg[2] and 'refused' in msg[2] and len(pushes) == 1 and
              'update refused: WRONG_CHIP' in dev_log, '%s; pushes %d' % (msg, len(pushes)))
        check('web/wrongchip/gateway_warned', 'will refuse' in msg[3] and 'esp32s3' in msg[3]
              and [e for e in events(log, 'warning') if e['device'] == 'unix:' + socks[0]],
              msg[3])
        page.shot('4-wrong-chip.png')
        page.size(1100, 800)
        # nothing changed but the device's record of its last refusal
        after = boot(socks[0])
        same = ('running_slot', 'version', 'state', 'other_state', 'session', 'held',
                'last_boot')
        check('web/wrongchip/device_unchanged',
              all(after.get(k) == event_of(before, 'status').get(k) for k in same) and
              after.get('last_result') == 'WRONG_CHIP' and info_version(socks[0]) == '2.0.0',
              '%s -> %s' % (before, after))
        # the reconcile loop (desired state) refuses before sending
        msg = check_now(page, socks[0], "the gateway's own refusal",
                        "c.dataset.state === 'refused' && "
                        "c.querySelector('[data-role=message]').dataset.from === 'gateway' && "
                        "c.querySelector('[data-role=message]').textContent")
        pushes = [e for e in events(log, 'push') if e['device'] == 'unix:' + socks[0] and
                  e['version'] == '3.0.0']
        check('web/wrongchip/reconcile_refuses_before_sending',
              'wrong chip' in str(msg) and 'esp32s3' in str(msg) and len(pushes) == 1,
              '%s; pushes %d' % (msg, len(pushes)))
        # Update again: an explicit order is sent again, the device refuses
        page.js("document.getElementById('update').click()")
        try:
            again = page.wait('the second refusal', "(() => { const p = [...document"
                              ".querySelectorAll('.card')].find(c => c.dataset.id === "
                              "'unix:%s'); const m = p && p.querySelector("
                              "'[data-role=message][data-from=device]'); return m && "
                              "m.dataset.status; })()" % socks[0], 30)
        except TimeoutError:
            again = page.js(card(socks[0], 'c.textContent'))
        pushes = [e for e in events(log, 'push') if e['device'] == 'unix:' + socks[0] and
                  e['version'] == '3.0.0']
        check('web/wrongchip/update_again_sends_again', again == 'WRONG_CHIP' and
              len(pushes) == 2, '%s; pushes %d' % (again, len(pushes)))

        # --- the desired state edited on the page: remove dev1's rule, then
        # add one for it naming the uploaded v2 file
        page.js("document.querySelector('#rules li:first-child button').click()")
        page.wait('dev1 without a rule', card(socks[0], "c.dataset.state === 'no_rule'"), 30)
        rules = json.load(open(config))['devices']
        check('web/desired/remove_rule', [r['match'] for r in rules] == ['unix:' + socks[1]],
              str(rules))
        page.set_file('#file', img['v2'])
        page.wait('the v2 facts again', "document.getElementById('fw-title').textContent"
                  ".includes('2.0.0')")
        page.js("document.getElementById('r-match').value = 'unix:%s';"
                "document.getElementById('r-src-file').click();"
                "document.getElementById('r-version').value = '2.0.0';"
                "document.querySelector('#rule-form button[type=submit]').click()" % socks[0])
        page.wait('dev1 in sync by the new rule', card(socks[0], "c.dataset.state === 'in_sync'"), 30)
        rules = json.load(open(config))['devices']
        check('web/desired/add_rule', rules[0]['match'] == 'unix:' + socks[0] and
              rules[0]['version'] == '2.0.0' and rules[0]['sha256'] and len(rules) == 2,
              str(rules))
        page.shot('6-desired-edited.png')
        stale = page.js(card(socks[0], "c.dataset.state + ' ' + "
                             "!!c.querySelector('[data-role=warning],[data-role=message]')"))
        check('web/desired/in_sync_card_without_old_refusal', stale == 'in_sync false', stale)

        # --- made outside the page: dev2 reboots into 3.0.0 and does not
        # confirm it (PENDING_VERIFY); "Check now": the gateway sends its
        # rule's 2.0.0, the device refuses (an image awaits confirmation)
        # and the badge is the device's PENDING_VERIFY
        r = run(BLEOTA, 'push', '--json', '--reboot', 'unix:' + socks[1], img['v3'])
        b = boot(socks[1])
        seen = check_now(page, socks[1], 'the pending badge',
                         "c.dataset.state === 'refused' && "
                         "c.querySelector('[data-role=boot]') && "
                         "c.querySelector('[data-role=boot]').textContent + ' ' + "
                         "c.querySelector('[data-role=message]').dataset.status")
        check('web/pending/badge_from_device_status', r.returncode == 0 and
              b.get('state') == 'PENDING_VERIFY' and
              seen == 'PENDING_VERIFY PENDING_CONFIRM', 'page %r, status %r' % (seen, b))
        page.shot('7-pending-verify.png')
        # ... it reboots again, never confirmed: the bootloader goes back
        r2 = run(BLEOTA, 'reboot', 'unix:' + socks[1])
        b = boot(socks[1])
        check('web/rollback/made', r.returncode == 0 and r2.returncode == 0 and
              b.get('version') == '2.0.0' and 'rejected' in b.get('last_boot', ''),
              r.stdout[-300:] + r.stderr + r2.stderr + str(b))
        badge = check_now(page, socks[1], 'the rolled back badge',
                          "c.dataset.state === 'in_sync' && "
                          "c.querySelector('[data-role=boot]') && "
                          "c.querySelector('[data-role=boot]').textContent === 'rolled back' && "
                          "c.querySelector('[data-role=boot-text]').textContent")
        check('web/rollback/badge_from_device_status',
              b.get('last_boot', '?') in str(badge), 'page %r, status %r' % (badge, b))
        page.shot('8-rolled-back.png')

        # --- a delta: dev1 runs 2.0.0, which the gateway delivered, so it is
        # in the gateway's image cache; 2.1.0 (2.0.0 with another version
        # string) goes as a delta, and the card says so in words
        page.size(1100, 800)
        page.set_file('#file', img['v4'])
        page.wait('the 2.1.0 facts', "!document.getElementById('fw-info').hidden && "
                  "document.getElementById('fw-facts').textContent.includes('2.1.0')")
        for s, want in ((socks[0], True), (socks[1], False)):
            if page.js(card(s, "c.querySelector('input[name=dev]').checked")) != want:
                page.js(card(s, "c.querySelector('input[name=dev]').click()"))
        page.js("document.getElementById('update').click()")
        line = ''
        try:
            line = page.wait('2.1.0 confirmed', card(
                socks[0], "c.dataset.running === '2.1.0' && c.dataset.state === 'in_sync' && "
                "!!c.querySelector('[data-step=confirmed].done') && "
                "c.querySelector('[data-role=plan]') && "
                "c.querySelector('[data-role=plan]').textContent"), 60)
        except TimeoutError:
            pass
        _, _, body = http(url + 'api/devices')
        d = {d['id']: d for d in json.loads(body)['devices']}.get('unix:' + socks[0], {})
        pct = '%.1f %% of the image' % (100.0 * d.get('air_total', 0) / max(1, d.get('total', 1)))
        check('web/delta/plan_on_card', d.get('encoding') == 'delta' and
              0 < d['air_total'] * 10 < d['total'] and
              line.startswith('Last push was a delta (only what changed): ') and
              line.endswith(pct) and info_version(socks[0]) == '2.1.0',
              'page %r, api %r' % (line, {k: d.get(k) for k in
                                           ('encoding', 'air_total', 'total', 'plan')}))
        page.shot('9-delta.png')

        # --- a phone's screen
        for width in (375, 390):
            page.size(width, 740, True)
            page.goto(url)
            page.wait('two device cards', "document.querySelectorAll('.card').length === 2")
            sw = page.js('document.documentElement.scrollWidth')
            wide = page.js("[...document.querySelectorAll('body *')].filter(e => "
                           "e.getBoundingClientRect().right > %d).slice(-3).map(e => "
                           "e.tagName + '.' + e.className + '#' + e.id).join(' ')" % (width + 1))
            check('web/phone/no_horizontal_scroll_%d' % width, sw <= width,
                  'scrollWidth %s, too wide: %s' % (sw, wide))
            page.shot('5-phone-%d.png' % width)
        check('web/page/no_script_errors', not page.errors, str(page.errors))

        # --- keyboard: the first Tab reaches the file input (the drop
        # zone is its label), and every device checkbox is focusable
        page.size(1100, 800)
        page.goto(url)
        page.wait('two device cards', "document.querySelectorAll('.card').length === 2")
        page.call('Input.dispatchKeyEvent', type='keyDown', key='Tab', code='Tab',
                  windowsVirtualKeyCode=9)
        page.call('Input.dispatchKeyEvent', type='keyUp', key='Tab', code='Tab',
                  windowsVirtualKeyCode=9)
        check('web/keyboard/tab_to_file_input',
              page.js("document.activeElement.id") == 'file' and
              page.js("getComputedStyle(document.getElementById('drop'))"
                      ".outlineStyle") == 'solid',
              str(page.js("document.activeElement.outerHTML")))

        # --- with a token: the page and its event stream use ?access_token
        tok = os.path.join(W, 'token')
        with open(tok, 'w') as f:
            f.write('s3cret-token\n')
        log2 = os.path.join(OUT, 'serve-token.log')
        cfg2 = os.path.join(W, 'desired-token.json')
        shutil.copy(config, cfg2)
        start([BLEOTA, 'serve', '--config', cfg2, '--state-dir', os.path.join(W, 'state2'),
               '--listen', '127.0.0.1:0', '--token-file', tok, '--json'], log2)
        url2 = wait_for('the second gateway', lambda: api_url(log2))
        st, _, _ = http(url2 + 'api/devices')
        st2, _, _ = http(url2 + 'api/events')
        st3, _, body = http(url2 + 'app.js')
        check('web/token/api_needs_token_page_does_not', st == 401 and st2 == 401 and
              st3 == 200 and b'access_token' in body, '%d %d %d' % (st, st2, st3))
        page.goto(url2 + '?access_token=s3cret-token')
        try:
            page.wait('the cards with a token', "document.querySelectorAll('.card').length === 2"
                      " && document.getElementById('live').textContent.includes('live')", 30)
            ok = True
        except TimeoutError:
            ok = False
        check('web/token/page_works', ok, page.js('document.body.innerText')[:600])
    finally:
        page.close()
    return 0


if __name__ == '__main__':
    rc = 1
    try:
        rc = main()
    except Exception as e:  # a step that could not run is a failure
        check('web/run', False, repr(e))
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGTERM)
                    p.wait(timeout=5)
                except (ProcessLookupError, subprocess.TimeoutExpired):
                    p.kill()
    print('web: %d passed, %d failed' % (passed, failed))
    sys.exit(1 if failed or rc else 0)
