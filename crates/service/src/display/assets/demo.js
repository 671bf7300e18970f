// The cashier demo page: what register software does, by hand. Create a payment, watch it
// (long-poll), pay or decline it through the built-in sandbox bank, cancel it, refund it,
// print its slip. The register key is typed in or read from the URL fragment (#key=…),
// which browsers never send to the server; the page keeps it in memory only.
(function () {
  'use strict';

  var TEXTS = {
    ru: {
      title: 'qrpayd — касса (демо)',
      heading: 'касса — демо и обучение',
      intro: 'Платежи идут через встроенный банк-песочницу: деньги не настоящие. Страница работает как кассовая программа: она вызывает API qrpayd с ключом кассы.',
      key_title: 'Ключ кассы',
      key_use: 'Использовать',
      key_hint: 'Ключ кассы pos-1 напечатан при запуске qrpayd (и лежит в qrpayd-demo.toml). Его можно передать в адресе страницы после #: /demo#key=… — эта часть адреса не уходит на сервер. Страница не хранит ключ.',
      create_title: 'Новая оплата',
      amount: 'Сумма, ₽',
      order: 'Чек',
      create: 'Выставить QR',
      payment_title: 'Оплата',
      left: 'Осталось',
      refunded: 'Возвращено, ₽',
      pay: 'Оплатить (песочница)',
      decline: 'Отказ банка (песочница)',
      cancel: 'Отменить',
      refund: 'Вернуть',
      slip: 'Слип (текст)',
      escpos: 'Слип ESC/POS',
      png: 'QR в PNG',
      log_title: 'Запросы',
      need_key: 'Сначала введите ключ кассы.',
      bad_amount: 'Сумма: рубли и копейки, например 123.45',
      status: { pending: 'ожидает оплаты', paid: 'оплачено', failed: 'отказ', expired: 'истекло', cancelled: 'отменено' }
    },
    en: {
      title: 'qrpayd — register (demo)',
      heading: 'register — demo and training',
      intro: 'Payments go through the built-in sandbox bank: no real money. This page acts as register software: it calls the qrpayd API with a register key.',
      key_title: 'Register key',
      key_use: 'Use',
      key_hint: 'Register pos-1\'s key is printed when qrpayd starts (and is in qrpayd-demo.toml). You can pass it after # in the address: /demo#key=… — that part of the address never reaches the server. The page does not store the key.',
      create_title: 'New payment',
      amount: 'Amount, ₽',
      order: 'Receipt',
      create: 'Issue QR',
      payment_title: 'Payment',
      left: 'Time left',
      refunded: 'Refunded, ₽',
      pay: 'Pay (sandbox)',
      decline: 'Bank declines (sandbox)',
      cancel: 'Cancel',
      refund: 'Refund',
      slip: 'Slip (text)',
      escpos: 'ESC/POS slip',
      png: 'QR as PNG',
      log_title: 'Requests',
      need_key: 'Enter the register key first.',
      bad_amount: 'Amount: rubles and kopecks, e.g. 123.45',
      status: { pending: 'waiting for payment', paid: 'paid', failed: 'failed', expired: 'expired', cancelled: 'cancelled' }
    }
  };

  var lang = new URLSearchParams(window.location.search).get('lang') === 'en' ? 'en' : 'ru';
  var t = TEXTS[lang];
  var key = '';
  var current = null;
  var watching = 0;
  var qrFor = null;

  function byId(id) { return document.getElementById(id); }

  document.documentElement.lang = lang;
  document.title = t.title;
  Array.prototype.forEach.call(document.querySelectorAll('[data-t]'), function (el) {
    var text = t[el.getAttribute('data-t')];
    if (typeof text === 'string') { el.textContent = text; }
  });

  // Money as integer kopecks; rubles only as text (no floating point).
  function kopecks(text) {
    var m = /^\s*(\d{1,9})(?:[.,](\d{1,2}))?\s*$/.exec(text);
    if (!m) { return null; }
    var fraction = ((m[2] || '') + '00').slice(0, 2);
    var value = parseInt(m[1], 10) * 100 + parseInt(fraction, 10);
    return value > 0 ? value : null;
  }
  function rubles(k) {
    var rest = k % 100;
    return Math.floor(k / 100) + '.' + (rest < 10 ? '0' : '') + rest;
  }

  function randomKey(prefix) {
    var bytes = new Uint8Array(12);
    window.crypto.getRandomValues(bytes);
    return prefix + Array.prototype.map.call(bytes, function (b) {
      return (b < 16 ? '0' : '') + b.toString(16);
    }).join('');
  }

  function log(method, path, status, text, isError) {
    var item = document.createElement('li');
    var time = new Date().toLocaleTimeString();
    item.textContent = time + '  ' + method + ' /' + path + '  →  ' + status + (text ? '  ' + text : '');
    if (isError) { item.className = 'error'; }
    var list = byId('log');
    list.insertBefore(item, list.firstChild);
    while (list.children.length > 50) { list.removeChild(list.lastChild); }
  }

  // A call of the POS API with the register key. Resolves to {status, json}.
  function call(method, path, body, idempotencyKey, raw) {
    if (!key) { window.alert(t.need_key); return Promise.reject(new Error('no key')); }
    var headers = { Authorization: 'Bearer ' + key };
    if (body !== undefined) { headers['Content-Type'] = 'application/json'; }
    if (idempotencyKey) { headers['Idempotency-Key'] = idempotencyKey; }
    return window.fetch(path, { method: method, headers: headers, body: body, cache: 'no-store' })
      .then(function (response) {
        if (raw && response.ok) {
          log(method, path, response.status, '');
          return response.blob().then(function (blob) { return { status: response.status, blob: blob }; });
        }
        return response.text().then(function (text) {
          var json = null;
          try { json = JSON.parse(text); } catch (e) { json = null; }
          var code = json && json.error ? json.error.code : (json && json.status ? json.status : '');
          log(method, path, response.status, code, response.status >= 400);
          return { status: response.status, json: json };
        });
      });
  }

  // The sandbox bank's own calls (the customer's side): no register key.
  function sandbox(path, body) {
    return window.fetch('sandbox-bank/' + path, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: body
    }).then(function (response) {
      return response.text().then(function (text) {
        log('POST', 'sandbox-bank/' + path, response.status, text.slice(0, 120), !response.ok);
      });
    });
  }

  function loadQr(payment) {
    if (qrFor === payment.id) { return; }
    qrFor = payment.id;
    call('GET', 'v1/payments/' + payment.id + '/qr.svg', undefined, null, true).then(function (answer) {
      if (answer.blob && qrFor === payment.id) {
        var img = byId('qr');
        if (img.src) { URL.revokeObjectURL(img.src); }
        img.src = URL.createObjectURL(answer.blob);
      }
    });
  }

  function render() {
    var p = current;
    if (!p) { return; }
    byId('payment-card').hidden = false;
    var status = byId('status');
    status.textContent = t.status[p.status] || p.status;
    status.className = 'status ' + p.status;
    byId('p-amount').textContent = rubles(p.amount);
    byId('p-order').textContent = p.order || '—';
    byId('p-id').textContent = p.id;
    byId('p-refunded').textContent = rubles(p.refunded_amount);
    var pending = p.status === 'pending';
    ['pay', 'decline', 'cancel', 'slip', 'escpos', 'png'].forEach(function (id) {
      byId(id).disabled = !pending || !p.qr;
    });
    var refundable = p.amount - p.refunds.reduce(function (sum, r) {
      return r.status === 'failed' ? sum : sum + r.amount;
    }, 0);
    byId('refund-form').hidden = p.status !== 'paid' || refundable <= 0;
    if (refundable > 0 && !byId('refund-amount').value) { byId('refund-amount').value = rubles(refundable); }
    byId('qr-box').hidden = !(pending && p.qr);
    if (pending && p.qr) { loadQr(p); } else { byId('qr').removeAttribute('src'); qrFor = null; }
    tick();
  }

  function tick() {
    var p = current;
    var el = byId('p-left');
    if (!p || p.status !== 'pending') { el.textContent = '—'; return; }
    var left = Math.max(0, Math.round((Date.parse(p.expires_at) - Date.now()) / 1000));
    el.textContent = Math.floor(left / 60) + ':' + (left % 60 < 10 ? '0' : '') + (left % 60);
  }

  function setPayment(p) {
    if (p && p.id) {
      if (current && current.id !== p.id) { byId('refund-amount').value = ''; byId('slip-text').hidden = true; }
      current = p;
      render();
    }
  }

  // Long-poll until the payment is final (what a register does).
  function watch() {
    var generation = ++watching;
    var id = current.id;
    (function loop() {
      call('GET', 'v1/payments/' + id + '?wait=25').then(function (answer) {
        if (generation !== watching) { return; }
        if (answer.status === 200) {
          setPayment(answer.json);
          if (answer.json.status === 'pending') { loop(); }
        } else {
          window.setTimeout(loop, 2000);
        }
      }, function () { if (generation === watching) { window.setTimeout(loop, 2000); } });
    }());
  }

  function watchRefund(refundId) {
    (function loop() {
      call('GET', 'v1/refunds/' + refundId + '?wait=25').then(function (answer) {
        if (answer.status === 200 && answer.json.status === 'pending') { loop(); return; }
        call('GET', 'v1/payments/' + current.id).then(function (a) { if (a.status === 200) { setPayment(a.json); } });
      });
    }());
  }

  function download(blob, name) {
    var link = document.createElement('a');
    link.href = URL.createObjectURL(blob);
    link.download = name;
    document.body.appendChild(link);
    link.click();
    window.setTimeout(function () { URL.revokeObjectURL(link.href); link.remove(); }, 1000);
  }

  byId('key-form').addEventListener('submit', function (event) {
    event.preventDefault();
    key = byId('key').value.trim();
  });

  byId('create-form').addEventListener('submit', function (event) {
    event.preventDefault();
    var amount = kopecks(byId('amount').value);
    if (amount === null) { window.alert(t.bad_amount); return; }
    var order = byId('order').value.trim() || randomKey('demo-').slice(0, 16);
    var body = JSON.stringify({ amount: amount, currency: 'RUB', order: order });
    call('POST', 'v1/payments', body, randomKey('demo-')).then(function (answer) {
      var p = answer.json && (answer.json.id ? answer.json : answer.json.payment);
      if (p) { setPayment(p); watch(); }
    });
  });

  byId('pay').addEventListener('click', function () {
    var p = current;
    // The sandbox's Raiffeisen call takes rubles as a JSON number: written from kopecks as text.
    sandbox('api/nspc-mock/v01/rfuture/payment/init',
      '{"qrId":' + JSON.stringify(p.qr.qr_id) + ',"amount":' + rubles(p.amount) + '}');
  });

  byId('decline').addEventListener('click', function () {
    sandbox('sandbox/qrs/' + encodeURIComponent(current.qr.qr_id) + '/decline', '');
  });

  byId('cancel').addEventListener('click', function () {
    call('POST', 'v1/payments/' + current.id + '/cancel').then(function (answer) {
      var p = answer.json && (answer.json.id ? answer.json : answer.json.payment);
      if (p) { setPayment(p); }
    });
  });

  byId('refund-form').addEventListener('submit', function (event) {
    event.preventDefault();
    var amount = kopecks(byId('refund-amount').value);
    if (amount === null) { window.alert(t.bad_amount); return; }
    var body = JSON.stringify({ amount: amount, reason: 'demo refund' });
    call('POST', 'v1/payments/' + current.id + '/refunds', body, randomKey('refund-')).then(function (answer) {
      byId('refund-amount').value = '';
      if (answer.json && answer.json.id) { watchRefund(answer.json.id); }
      call('GET', 'v1/payments/' + current.id).then(function (a) { if (a.status === 200) { setPayment(a.json); } });
    });
  });

  byId('slip').addEventListener('click', function () {
    call('GET', 'v1/payments/' + current.id + '/receipt.txt?width=58&lang=' + lang, undefined, null, true)
      .then(function (answer) {
        if (!answer.blob) { return; }
        answer.blob.text().then(function (text) {
          var pre = byId('slip-text');
          pre.textContent = text;
          pre.hidden = false;
        });
      });
  });

  byId('escpos').addEventListener('click', function () {
    call('GET', 'v1/payments/' + current.id + '/receipt.escpos?width=80&lang=' + lang, undefined, null, true)
      .then(function (answer) { if (answer.blob) { download(answer.blob, current.id + '.escpos'); } });
  });

  byId('png').addEventListener('click', function () {
    call('GET', 'v1/payments/' + current.id + '/qr.png?size=512', undefined, null, true)
      .then(function (answer) { if (answer.blob) { download(answer.blob, current.id + '.png'); } });
  });

  function fromFragment() {
    var match = /(?:^#|&)key=([^&]*)/.exec(window.location.hash);
    if (match) {
      key = decodeURIComponent(match[1]);
      byId('key').value = key;
    }
  }

  window.addEventListener('hashchange', fromFragment);
  fromFragment();
  window.setInterval(tick, 500);
}());
