#!/usr/bin/python3
# SPDX-License-Identifier: MIT
#
# make test-web: the page of `bleota serve` in a real browser (Debian's
# chromium, headless, driven over the DevTools protocol with
# python3-websocket; run with /usr/bin/python3).
#
# Two simulated ESP32-C3 devices (bleota-peripheral on unix sockets, link
# throttled to 150 KiB/s so progress is visible) run blinky 1.0.0; the
# gateway's desired state names both at 1.0.0, so it knows them and pushes
# nothing. Then, as a user would:
#   web/upload:    a text file shows the reason on the page; a file
#                  dropped on the drop zone is checked and described.
#   web/update:    upload blinky 2.0.0 through the file input, tick both
#                  devices, press Update, wait until both cards show 2.0.0
#                  confirmed; `bleota status` says both run 2.0.0 VALID.
#   web/wrongchip: upload an ESP32-S3 image, tick one device, Update: the
#                  card shows the refusal; `bleota status` is unchanged.
#   web/desired:   a rule removed and one added on the page: the
#                  configuration file and the device follow.
#   web/phone:     the page at 375 px width has no horizontal scrolling.
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


def info_version(sock):
    r = run(BLEOTA, 'info', '--json', 'unix:' + sock)
    for line in r.stdout.splitlines():
        try:
            j = json.loads(line)
        except ValueError:
            continue
        if 'version' in j:
            return j['version']
    return None


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
    img = {}
    for name, args in (('v1', ['--version', '1.0.0', '--segments', 'drom:40000,irom:100000,dram:4096']),
                       ('v2', ['--version', '2.0.0', '--segments', 'drom:90000,irom:300000,dram:4096']),
                       ('s3', ['--version', '3.0.0', '--chip', 'esp32s3',
                               '--segments', 'drom:40000,irom:100000,dram:4096'])):
        img[name] = os.path.join(W, 'blinky-%s.bin' % name)
        r = run(MKIMAGE, '--project', 'blinky', *args, img[name])
        assert r.returncode == 0, r.stderr
    socks = []
    for i in (1, 2):
        flash = os.path.join(W, 'dev%d.flash' % i)
        sock = os.path.join(W, 'dev%d.sock' % i)
        r = run(BLEOTA, 'flash', 'create', flash, '--size', '4M', '--layout', 'two-ota',
                '--app', img['v1'])
        assert r.returncode == 0, r.stderr
        start([PERIPH, '--flash', flash, '--listen', 'unix:' + sock, '--impair', 'rate=150K'],
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
        check('web/update/image_facts', all(s in facts for s in
              ('blinky', '2.0.0', 'esp32c3', 'not signed')), facts)
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
        for s in socks:
            st = status(s)
            check('web/update/status_%s' % os.path.basename(s),
                  info_version(s) == '2.0.0' and 'VALID' in st, st)

        # --- wrong chip: the refusal on the page, nothing changed on the device
        before = status(socks[0])
        page.size(1100, 800)
        page.set_file('#file', img['s3'])
        page.wait('the S3 image facts', "document.getElementById('fw-facts').textContent"
                  ".includes('esp32s3')")
        # both are still ticked: untick the second, the first gets the S3 image
        page.js(card(socks[1], "c.querySelector('input[name=dev]').click()"))
        page.wait('one device ticked', "document.getElementById('update').textContent"
                  " === 'Update 1 device to blinky 3.0.0'", 10)
        page.js("document.getElementById('update').click()")
        try:
            msg = page.wait('the refusal', card(socks[0],
                            "c.dataset.state === 'refused' && "
                            "c.querySelector('[data-role=message]').textContent"), 60)
        except TimeoutError:
            msg = page.js(card(socks[0], 'c.textContent'))
        check('web/wrongchip/refusal_on_page', bool(msg) and 'wrong chip' in msg and
              'esp32s3' in msg, str(msg))
        page.shot('4-wrong-chip.png')
        check('web/wrongchip/device_unchanged', status(socks[0]) == before and
              info_version(socks[0]) == '2.0.0', status(socks[0]))

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

        # --- a phone's screen
        page.size(375, 740, True)
        page.goto(url)
        page.wait('two device cards', "document.querySelectorAll('.card').length === 2")
        sw = page.js('document.documentElement.scrollWidth')
        wide = page.js("[...document.querySelectorAll('body *')].filter(e => "
                       "e.getBoundingClientRect().right > 376).slice(-3).map(e => "
                       "e.tagName + '.' + e.className + '#' + e.id).join(' ')")
        check('web/phone/no_horizontal_scroll', sw <= 375,
              'scrollWidth %s, too wide: %s' % (sw, wide))
        page.shot('5-phone-375.png')
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
