// The customer display / kiosk screen of one register. It follows the register's current
// payment through server-sent events from qrpayd (`<this page>/events`, with the same
// `?key=`), shows the QR with the amount and a countdown, the outcome for a few seconds,
// then the idle screen. Nobody touches it. Russian by default; `&lang=en` for English.
(function () {
  'use strict';

  var TEXTS = {
    ru: {
      title: 'СБП — оплата по QR-коду',
      idle_title: 'Оплата через СБП',
      idle_hint: 'QR-код для оплаты появится здесь',
      amount_label: 'К оплате',
      scan_hint: 'Отсканируйте QR-код камерой телефона или в приложении банка',
      time_left: 'Код действует ещё',
      offline: 'Нет связи с сервером оплаты. Переподключение…',
      paid: 'Оплачено',
      paid_text: 'Спасибо за покупку!',
      cancelled: 'Оплата отменена',
      cancelled_text: 'Обратитесь к кассиру',
      expired: 'Время оплаты истекло',
      expired_text: 'Попросите у кассира новый QR-код',
      failed: 'Оплата не прошла',
      failed_text: 'Попробуйте ещё раз или выберите другой способ оплаты'
    },
    en: {
      title: 'SBP — pay by QR code',
      idle_title: 'Pay with SBP',
      idle_hint: 'The payment QR code will appear here',
      amount_label: 'Amount due',
      scan_hint: "Scan the QR code with your phone's camera or your bank's app",
      time_left: 'Code valid for',
      offline: 'No connection to the payment server. Reconnecting…',
      paid: 'Paid',
      paid_text: 'Thank you for your purchase!',
      cancelled: 'Payment cancelled',
      cancelled_text: 'Please ask the cashier',
      expired: 'Payment time is over',
      expired_text: 'Ask the cashier for a new QR code',
      failed: 'Payment failed',
      failed_text: 'Try again or choose another way to pay'
    }
  };

  var params = new URLSearchParams(window.location.search);
  var lang = params.get('lang') === 'en' ? 'en' : 'ru';
  var t = TEXTS[lang];
  var body = document.body;
  var deadline = null;

  function byId(id) { return document.getElementById(id); }

  document.documentElement.lang = lang;
  document.title = t.title;
  Array.prototype.forEach.call(document.querySelectorAll('[data-t]'), function (el) {
    var text = t[el.getAttribute('data-t')];
    if (text) { el.textContent = text; }
  });

  // "1234.50" (exact text from qrpayd, never a float) → "1 234,50 ₽" / "₽1,234.50".
  function money(rubles) {
    var parts = String(rubles).split('.');
    var whole = parts[0].replace(/\B(?=(\d{3})+(?!\d))/g, lang === 'ru' ? '\u00a0' : ',');
    var cents = parts[1] || '00';
    return lang === 'ru' ? whole + ',' + cents + '\u00a0₽' : '₽' + whole + '.' + cents;
  }

  // Shrinks a one-line text until it fits its box (a large amount on a narrow screen).
  function fit(el) {
    el.style.fontSize = '';
    var size = parseFloat(window.getComputedStyle(el).fontSize);
    while (el.scrollWidth > el.clientWidth && size > 12) {
      size -= 2;
      el.style.fontSize = size + 'px';
    }
  }

  function tick() {
    var el = byId('countdown');
    if (deadline === null) { el.textContent = '—'; return; }
    var left = Math.max(0, Math.round((deadline - performance.now()) / 1000));
    var minutes = Math.floor(left / 60);
    var seconds = left % 60;
    el.textContent = minutes + ':' + (seconds < 10 ? '0' : '') + seconds;
    el.parentNode.classList.toggle('urgent', left <= 30);
  }

  function show(state) {
    var status = state.status;
    if (status === 'pending') {
      var img = byId('qr');
      var src = 'data:image/svg+xml;charset=utf-8,' + encodeURIComponent(state.qr.svg);
      if (img.getAttribute('src') !== src) { img.setAttribute('src', src); }
      img.setAttribute('data-payload', state.qr.payload);
      byId('amount').textContent = money(state.amount_rubles);
      deadline = performance.now() + state.expires_in_ms;
      tick();
    } else if (status === 'idle') {
      deadline = null;
      byId('qr').removeAttribute('src');
    } else {
      deadline = null;
      byId('qr').removeAttribute('src');
      byId('outcome-title').textContent = t[status] || status;
      byId('outcome-text').textContent = t[status + '_text'] || '';
      byId('outcome-amount').textContent = state.amount_rubles ? money(state.amount_rubles) : '';
    }
    body.setAttribute('data-state', status);
    fit(byId(status === 'pending' ? 'amount' : 'outcome-amount'));
  }

  function online(yes) { body.setAttribute('data-online', yes ? 'true' : 'false'); }

  // The browser reconnects by itself after a network error (qrpayd sends `retry`), and qrpayd
  // re-sends the current state on every connect. A refused stream closes for good: ask for
  // the page again after a pause; a 404 (wrong key, display removed) reloads it, which shows
  // why; anything else connects again.
  function retryLater() {
    window.setTimeout(function () {
      window.fetch(window.location.href, { cache: 'no-store' }).then(function (response) {
        if (response.status === 404) { window.location.reload(); } else { connect(); }
      }, retryLater);
    }, 5000);
  }

  function connect() {
    var path = window.location.pathname.replace(/\/+$/, '') + '/events' + window.location.search;
    var source = new EventSource(path);
    source.addEventListener('open', function () { online(true); });
    source.addEventListener('state', function (event) {
      online(true);
      try { show(JSON.parse(event.data)); } catch (e) { /* keep the last good screen */ }
    });
    source.addEventListener('error', function () {
      online(false);
      if (source.readyState === EventSource.CLOSED) {
        source.close();
        retryLater();
      }
    });
  }

  window.addEventListener('resize', function () {
    fit(byId('amount'));
    fit(byId('outcome-amount'));
  });
  window.setInterval(tick, 250);
  connect();
}());
