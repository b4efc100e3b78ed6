// The browser softphone of the 12351 hotline: signs the seat in through the gateway's
// API, registers a JsSIP user agent over the same origin's WebSocket, follows the
// agent's state and rings (with the caller's history) from the gateway's event
// stream, and handles the call: answer, hang up, DTMF, blind transfer to the lawyers.
//
// The agent's state always comes from the gateway (GET /api/agent, the event
// stream); the page never guesses it.
'use strict';

(function () {
  const $ = (id) => document.getElementById(id);

  const STATE_LABELS = {
    logged_out: '未登录',
    ready: '就绪',
    paused: '暂停',
    ringing: '振铃',
    talking: '通话中',
    wrap_up: '话后整理',
  };
  const PAUSE_LABELS = {
    signed_in: '刚登录',
    break: '小休',
    training: '培训',
    after_call_work: '整理',
    meeting: '会议',
    meal: '用餐',
    'no answer': '未接听，已自动暂停',
  };
  const SIP_LABELS = {
    registering: '注册中',
    registered: '已注册',
    unregistered: '未注册',
  };
  const CALL_LABELS = {
    idle: '空闲',
    ringing: '来电振铃',
    connecting: '接通中',
    talking: '通话中',
    reconnecting: '网络重连中',
    ended: '已结束',
  };
  const ROLE_LABELS = { agent: '坐席', lawyer: '值班律师' };
  const KIND_LABELS = {
    consultation: '咨询',
    request: '求决',
    complaint: '投诉',
    suggestion: '意见建议',
    legal_aid: '法律援助',
    hardship: '困难帮扶',
  };
  const TICKET_STATUS_LABELS = {
    registered: '已登记',
    dispatched: '已交办',
    resolved_on_call: '当场办结',
    not_accepted: '不予受理',
    duplicate: '重复件',
    forwarded: '已转送',
    closed: '已办结',
  };
  const SERVICE_LABELS = {
    rights_consultation: '按键 1 · 权益咨询',
    legal_aid: '按键 2 · 法律援助',
    hardship: '按键 3 · 困难帮扶',
    agent: '按键 0 · 人工服务',
    no_selection: '未选择菜单',
    other: '其他按键',
  };
  const FIELD_LABELS = { username: '用户名', password: '密码', reason: '暂停原因' };

  // No STUN or TURN: media stays between the browser and the gateway.
  const PC_CONFIG = { iceServers: [] };
  const MEDIA = { audio: true, video: false };
  const ICE_RETRY_MS = 4000;
  const KEEPALIVE_MS = 5 * 60 * 1000;

  const hotline = {
    ua: null,
    session: null,
    remoteStream() {
      const audio = $('remote-audio');
      if (audio.srcObject) return audio.srcObject;
      const pc = hotline.session && hotline.session.connection;
      if (!pc) return null;
      const stream = new MediaStream();
      pc.getReceivers().forEach((r) => r.track && stream.addTrack(r.track));
      return stream;
    },
  };
  window.hotline = hotline;

  let events = null;
  let keepalive = null;
  let signedIn = null;

  // ---- the gateway's API ----------------------------------------------------

  async function api(method, path, body) {
    const init = { method, headers: { Accept: 'application/json' }, credentials: 'same-origin' };
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    const response = await fetch(path, init);
    let data = null;
    try {
      data = await response.json();
    } catch (_) {
      data = null;
    }
    if (!response.ok) {
      const error = new Error((data && data.error) || response.statusText);
      error.status = response.status;
      error.field = data && data.field;
      throw error;
    }
    return data;
  }

  function explain(error) {
    if (error.status === 401 && error.field === 'password') return '用户名或密码错误';
    if (error.status === 401) return '登录已失效，请重新登录';
    if (error.status === 429) return '登录失败次数过多，请稍后再试';
    if (error.status === 400 && error.field) {
      return `${FIELD_LABELS[error.field] || error.field}：${error.message}`;
    }
    if (error.status === 409) return `操作未执行：${error.message}`;
    return `出错了：${error.message}`;
  }

  // ---- what the page shows ----------------------------------------------------

  function setText(id, text) {
    $(id).textContent = text;
  }

  function showSipStatus(word) {
    setText('sip-status', word);
    const failed = word.startsWith('failed');
    setText('sip-status-label', failed ? `注册失败（${word.slice(8)}）` : SIP_LABELS[word] || word);
  }

  function showAgentState(state) {
    if (!state || !state.state) return;
    setText('agent-state', state.state);
    let label = STATE_LABELS[state.state] || state.state;
    if (state.state === 'paused' && state.pause_reason) {
      label += `（${PAUSE_LABELS[state.pause_reason] || state.pause_reason}）`;
    }
    setText('agent-state-label', label);
    $('ready-button').disabled = !['paused', 'wrap_up'].includes(state.state);
    $('pause-button').disabled = !['ready', 'wrap_up', 'ringing'].includes(state.state);
  }

  function setCallState(word, detail) {
    setText('call-state', word);
    const label = CALL_LABELS[word] || word;
    setText('call-state-label', detail ? `${label}（${detail}）` : label);
    const live = word === 'talking' || word === 'reconnecting';
    $('transfer-lawyers-button').disabled = !live;
    document.querySelectorAll('#dtmf-pad button').forEach((b) => {
      b.disabled = !live;
    });
    $('answer-button').disabled = word !== 'ringing';
    $('hangup-button').disabled = !['ringing', 'connecting', 'talking', 'reconnecting'].includes(word);
  }

  function showIncoming(number) {
    if (number) setText('caller-number', number);
    $('incoming').hidden = false;
  }

  function formatDate(text) {
    return text || '';
  }

  function renderHistory(history, error) {
    const list = $('caller-history');
    list.replaceChildren();
    (history || []).forEach((ticket) => {
      const item = document.createElement('li');
      item.className = 'history-ticket';
      item.dataset.ticket = ticket.number;
      const cell = (className, text) => {
        const span = document.createElement('span');
        span.className = className;
        span.textContent = text;
        item.appendChild(span);
      };
      cell('ticket-number', ticket.number);
      cell('date', formatDate(ticket.date));
      const kind = KIND_LABELS[ticket.kind] || ticket.kind || '';
      cell('topic', [kind, ticket.topic].filter(Boolean).join(' · '));
      cell('status', TICKET_STATUS_LABELS[ticket.status] || ticket.status);
      if (ticket.urgent) cell('urgent', '紧急');
      cell('summary', ticket.summary);
      list.appendChild(item);
    });
    $('caller-history-empty').hidden = (history || []).length > 0 || Boolean(error);
    $('caller-history-error').hidden = !error;
    setText('caller-history-error', error ? `历史工单暂不可用：${error}` : '');
  }

  // ---- the gateway's event stream ---------------------------------------------

  function follow() {
    if (events) events.close();
    events = new EventSource('/api/agent/events');
    events.addEventListener('state', (e) => showAgentState(JSON.parse(e.data)));
    events.addEventListener('ringing', (e) => {
      const ring = JSON.parse(e.data);
      showIncoming(ring.caller_number || '未显示号码');
      setText('caller-service', SERVICE_LABELS[ring.service] || ring.service || '');
      renderHistory(ring.history, ring.history_error);
    });
    events.addEventListener('error', async () => {
      if (events && events.readyState === EventSource.CLOSED) {
        // Refused outright: most likely the session is gone.
        try {
          showAgentState(await api('GET', '/api/agent'));
          setTimeout(follow, 3000);
        } catch (error) {
          if (error.status === 401) signedOut(explain(error));
        }
      }
    });
  }

  // ---- SIP ------------------------------------------------------------------------

  function startPhone(sip, password) {
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    const socket = new JsSIP.WebSocketInterface(`${scheme}://${location.host}/ws`);
    const ua = new JsSIP.UA({
      sockets: [socket],
      uri: sip.uri,
      password,
      realm: sip.realm,
      register: true,
      register_expires: 600,
      session_timers: false,
      user_agent: '12351-web-softphone',
    });
    hotline.ua = ua;
    showSipStatus('registering');
    ua.on('connecting', () => {
      if (!ua.isRegistered()) showSipStatus('registering');
    });
    ua.on('registered', () => showSipStatus('registered'));
    ua.on('unregistered', () => showSipStatus('unregistered'));
    ua.on('registrationFailed', (e) => showSipStatus(`failed: ${e.cause || 'unknown'}`));
    ua.on('disconnected', () => {
      if (hotline.ua === ua) showSipStatus('registering');
    });
    ua.on('newRTCSession', (e) => {
      if (e.originator !== 'remote') return;
      if (hotline.session && !hotline.session.isEnded()) {
        e.session.terminate({ status_code: 486, reason_phrase: 'Busy Here' });
        return;
      }
      takeSession(e.session, e.request);
    });
    ua.start();
  }

  function takeSession(session, request) {
    hotline.session = session;
    $('remote-audio').srcObject = null;
    const from = session.remote_identity;
    const number = (from && from.uri && from.uri.user) || (request && request.from && request.from.uri.user);
    if ($('incoming').hidden || !$('caller-number').textContent) showIncoming(number);
    setCallState('ringing');
    session.on('peerconnection', (e) => watchMedia(session, e.peerconnection));
    session.on('accepted', () => setCallState('connecting'));
    session.on('confirmed', () => setCallState('talking'));
    const over = (e) => {
      if (hotline.session === session) {
        const cause = e && e.cause && e.cause !== JsSIP.C.causes.BYE ? e.cause : '';
        setCallState('ended', cause);
        hotline.session = null;
      }
    };
    session.on('ended', over);
    session.on('failed', over);
  }

  function watchMedia(session, pc) {
    pc.addEventListener('track', (e) => {
      const audio = $('remote-audio');
      audio.srcObject = e.streams && e.streams[0] ? e.streams[0] : new MediaStream([e.track]);
      audio.play().catch(() => {});
    });
    // An ICE outage (Wi-Fi roaming, a VPN reconnecting) is mended with an ICE
    // restart: once per outage, then again every few seconds while still down.
    let outage = false;
    let retry = null;
    const restart = () => {
      retry = null;
      if (!outage || session.isEnded()) return;
      try {
        session.renegotiate({ rtcOfferConstraints: { iceRestart: true } });
      } catch (error) {
        console.warn('ICE restart failed', error);
      }
      retry = setTimeout(() => {
        if (outage && !['connected', 'completed'].includes(pc.iceConnectionState)) restart();
      }, ICE_RETRY_MS);
    };
    pc.addEventListener('iceconnectionstatechange', () => {
      const ice = pc.iceConnectionState;
      if ((ice === 'disconnected' || ice === 'failed') && !outage && session.isEstablished()) {
        outage = true;
        setCallState('reconnecting');
        restart();
      } else if ((ice === 'connected' || ice === 'completed') && outage) {
        outage = false;
        if (retry) clearTimeout(retry);
        retry = null;
        if (hotline.session === session && session.isEstablished()) setCallState('talking');
      }
    });
  }

  // ---- signing in and out -----------------------------------------------------------

  function signedOut(message) {
    if (events) events.close();
    events = null;
    if (keepalive) clearInterval(keepalive);
    keepalive = null;
    if (hotline.ua) {
      const ua = hotline.ua;
      hotline.ua = null;
      ua.stop();
    }
    hotline.session = null;
    signedIn = null;
    $('seat').hidden = true;
    $('signin').hidden = false;
    setText('seat-user', '');
    setText('signin-error', message || '');
    $('signin-button').disabled = false;
    showSipStatus('unregistered');
  }

  async function signIn(event) {
    event.preventDefault();
    const username = $('signin-user').value.trim();
    const password = $('signin-password').value;
    setText('signin-error', '');
    $('signin-button').disabled = true;
    try {
      const seat = await api('POST', '/api/session', { username, password });
      signedIn = seat;
      $('signin-password').value = '';
      $('signin').hidden = true;
      $('seat').hidden = false;
      setText('seat-user', `${seat.username}（${ROLE_LABELS[seat.role] || seat.role}）`);
      showAgentState(seat.state);
      setCallState('idle');
      follow();
      startPhone(seat.sip, password);
      keepalive = setInterval(async () => {
        try {
          showAgentState(await api('GET', '/api/agent'));
        } catch (error) {
          if (error.status === 401) signedOut(explain(error));
        }
      }, KEEPALIVE_MS);
    } catch (error) {
      setText('signin-error', explain(error));
    } finally {
      $('signin-button').disabled = false;
    }
  }

  async function agentAction(path, body) {
    setText('seat-error', '');
    try {
      showAgentState(await api('POST', path, body));
    } catch (error) {
      if (error.status === 401) signedOut(explain(error));
      else setText('seat-error', explain(error));
    }
  }

  async function signOut() {
    setText('seat-error', '');
    try {
      await api('DELETE', '/api/session');
      signedOut('');
    } catch (error) {
      if (error.status === 401) signedOut('');
      else setText('seat-error', explain(error));
    }
  }

  // ---- wiring ----------------------------------------------------------------------------

  function init() {
    $('signin-form').addEventListener('submit', signIn);
    $('ready-button').addEventListener('click', () => agentAction('/api/agent/ready'));
    $('pause-button').addEventListener('click', () =>
      agentAction('/api/agent/pause', { reason: $('pause-reason').value }));
    $('signout-button').addEventListener('click', signOut);
    $('answer-button').addEventListener('click', () => {
      const session = hotline.session;
      if (!session || session.isEstablished()) return;
      setCallState('connecting');
      session.answer({ mediaConstraints: MEDIA, pcConfig: PC_CONFIG });
    });
    $('hangup-button').addEventListener('click', () => {
      const session = hotline.session;
      if (session && !session.isEnded()) session.terminate();
    });
    $('transfer-lawyers-button').addEventListener('click', () => {
      const session = hotline.session;
      if (session && session.isEstablished()) session.refer(`sip:lawyers@${location.hostname}`);
    });
    document.querySelectorAll('#dtmf-pad button[data-digit]').forEach((button) => {
      button.addEventListener('click', () => {
        const session = hotline.session;
        if (session && session.isEstablished()) {
          session.sendDTMF(button.dataset.digit, { transportType: 'RFC2833' });
        }
      });
    });
    setCallState('idle');
    showSipStatus('unregistered');
    // A reloaded page still has its cookie: offer the same user name.
    api('GET', '/api/session')
      .then((seat) => {
        if (!$('signin-user').value) $('signin-user').value = seat.username;
      })
      .catch(() => {});
  }

  window.addEventListener('beforeunload', () => {
    if (hotline.ua) hotline.ua.stop();
  });

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
}());
