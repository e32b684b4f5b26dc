// webphone.js — the page's logic: one JsSIP user agent over one WebSocket, register,
// MESSAGE both ways, calls out and in, and every SIP message sent or received listed in
// the trace (the raw text, as it went over the WebSocket).
//
// The trace comes from a thin wrapper around JsSIP.WebSocketInterface that sees every
// message in both directions; JsSIP's own debug log would need the console.
// window.webphone exposes the state for scripts (tests/webphone/browser_test.js reads the
// trace from the page itself, the list an operator sees).
'use strict';

(function () {
  const $ = (id) => document.getElementById(id);
  const params = new URLSearchParams(location.search);
  for (const field of ['ws', 'uri', 'password', 'message-to', 'call-to']) {
    if (params.has(field)) $(field).value = params.get(field);
  }
  if (params.get('auto-answer') === '1') $('auto-answer').checked = true;

  const state = { ua: null, session: null, incoming: null, trace: [], messages: [] };
  window.webphone = state;

  function addTrace(direction, text) {
    const firstLine = text.split('\r\n', 1)[0];
    state.trace.push({ direction, firstLine, text });
    const li = document.createElement('li');
    li.className = direction;
    const details = document.createElement('details');
    const summary = document.createElement('summary');
    const first = document.createElement('span');
    first.className = 'first';
    first.textContent = (direction === 'sent' ? 'SENT ' : 'RECEIVED ') + firstLine;
    summary.appendChild(first);
    const pre = document.createElement('pre');
    pre.textContent = text;
    details.appendChild(summary);
    details.appendChild(pre);
    li.appendChild(details);
    $('trace').appendChild(li);
  }

  // JsSIP's socket interface (url, via_transport, sip_uri, connect, disconnect, send and
  // the three handlers JsSIP sets), forwarding to the real WebSocketInterface.
  function tracedSocket(url) {
    const inner = new JsSIP.WebSocketInterface(url);
    const socket = {
      get url() { return inner.url; },
      get via_transport() { return inner.via_transport; },
      set via_transport(v) { inner.via_transport = v; },
      get sip_uri() { return inner.sip_uri; },
      onconnect: () => {},
      ondisconnect: () => {},
      ondata: () => {},
      connect() {
        inner.onconnect = () => socket.onconnect();
        inner.ondisconnect = (...args) => socket.ondisconnect(...args);
        inner.ondata = (data) => {
          addTrace('received', typeof data === 'string' ? data : new TextDecoder().decode(data));
          socket.ondata(data);
        };
        inner.connect();
      },
      disconnect() { inner.disconnect(); },
      send(message) {
        addTrace('sent', message);
        return inner.send(message);
      },
      isConnected() { return inner.isConnected(); },
      isConnecting() { return inner.isConnecting(); },
    };
    return socket;
  }

  function setStatus(text) { $('status').textContent = text; }
  function setCallState(text) { $('call-state').textContent = text; }
  function showMessage(direction, peer, body) {
    state.messages.push({ direction, peer, body });
    const li = document.createElement('li');
    li.className = direction;
    li.textContent = (direction === 'in' ? 'from ' : 'to ') + peer + ': ' + body;
    $('messages').appendChild(li);
  }
  function callButtons() {
    const registered = state.ua && state.ua.isRegistered();
    $('call').disabled = !registered || !!state.session || !!state.incoming;
    $('answer').disabled = !state.incoming;
    $('hangup').disabled = !state.session && !state.incoming;
  }

  // Fake devices in a headless test, a microphone otherwise; no video.
  const callOptions = {
    mediaConstraints: { audio: true, video: false },
    pcConfig: { iceServers: [] },
  };

  function watchSession(session) {
    session.on('progress', (e) => setCallState('ringing' + (e.response ? ' (' + e.response.status_code + ')' : '')));
    session.on('accepted', () => setCallState('answered'));
    session.on('confirmed', () => {
      setCallState('in call');
      state.session = session;
      state.incoming = null;
      callButtons();
    });
    const finished = (what) => (e) => {
      setCallState(what + ': ' + e.cause + (e.message && e.message.status_code ? ' (' + e.message.status_code + ')' : ''));
      if (state.session === session) state.session = null;
      if (state.incoming === session) state.incoming = null;
      callButtons();
    };
    session.on('ended', finished('ended'));
    session.on('failed', finished('failed'));
  }

  $('register').onclick = () => {
    if (state.ua) state.ua.stop();
    const ua = new JsSIP.UA({
      sockets: [tracedSocket($('ws').value)],
      uri: $('uri').value,
      password: $('password').value || undefined,
      register: true,
      register_expires: 300,
      session_timers: false,
      user_agent: 'sipkit-webphone (JsSIP ' + JsSIP.version + ')',
    });
    state.ua = ua;
    ua.on('connecting', () => setStatus('connecting'));
    ua.on('connected', () => setStatus('connected'));
    ua.on('disconnected', () => setStatus('disconnected'));
    ua.on('registered', () => {
      setStatus('registered');
      $('send-message').disabled = false;
      $('unregister').disabled = false;
      callButtons();
    });
    ua.on('unregistered', () => { setStatus('unregistered'); callButtons(); });
    ua.on('registrationFailed', (e) => setStatus('registration failed: ' + e.cause));
    ua.on('newMessage', (e) => {
      if (e.originator === 'remote') showMessage('in', e.request.from.uri.toString(), e.request.body);
    });
    ua.on('newRTCSession', (e) => {
      if (e.originator !== 'remote') return;
      const session = e.session;
      watchSession(session);
      state.incoming = session;
      setCallState('incoming call from ' + e.request.from.uri.toString());
      callButtons();
      if ($('auto-answer').checked) session.answer(callOptions);
    });
    ua.start();
  };

  $('unregister').onclick = () => state.ua && state.ua.unregister();

  $('send-message').onclick = () => {
    const to = $('message-to').value;
    const body = $('message-text').value;
    state.ua.sendMessage(to, body, {
      eventHandlers: {
        succeeded: (e) => showMessage('out', to, body + ' (' + e.response.status_code + ')'),
        failed: (e) => showMessage('out', to, body + ' (failed: ' + e.cause + ')'),
      },
    });
  };

  $('call').onclick = () => {
    const session = state.ua.call($('call-to').value, callOptions);
    state.session = session;
    watchSession(session);
    setCallState('calling');
    callButtons();
  };
  $('answer').onclick = () => state.incoming && state.incoming.answer(callOptions);
  $('hangup').onclick = () => {
    const s = state.session || state.incoming;
    if (s) s.terminate();
  };
})();
