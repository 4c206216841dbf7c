// The chat page: pick a user, then talk to this node over one WebSocket.
// Frames are described in ../messages.ts.

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const me = params.get('user');

const state = {
  node: '',
  user: null,
  users: new Map(), // id -> { id, name }
  groups: new Map(), // id -> { id, name, members }
  online: {}, // user -> [node]
  nodes: [], // nodes up
  links: {}, // node -> page URL
  conversations: new Map(), // key -> { key, kind, id, list, unread, last }
  active: '',
  messages: new Map(), // message id -> element
  pending: new Map(), // ref -> element
  duplicates: 0,
  socket: null,
  retry: 0,
};

start();

async function start() {
  const directory = await (await fetch('/api/users')).json();
  if (directory.users.some((u) => u.id === me)) startChat();
  else showLogin(directory);
}

// ---- login ---------------------------------------------------------------

function showLogin({ node, users, online }) {
  $('login').hidden = false;
  document.body.dataset.state = 'login';
  $('login-node').textContent = node;
  if (me) $('login-hint').textContent = `There is no demo user called "${me}".`;
  const list = $('login-users');
  list.replaceChildren(
    ...users.map((user) => {
      const where = online[user.id] ?? [];
      const a = el('a', { className: 'login-user', href: `?user=${encodeURIComponent(user.id)}` }, [
        avatar(user, where.length > 0),
        el('span', { className: 'login-name' }, [user.name]),
        el('span', { className: `small ${where.length ? 'online' : 'muted'}` }, [
          where.length ? `online on ${where.join(', ')}` : 'offline',
        ]),
      ]);
      a.dataset.testid = `login-${user.id}`;
      return el('li', {}, [a]);
    }),
  );
}

// ---- connection ----------------------------------------------------------

function startChat() {
  $('app').hidden = false;
  $('composer').addEventListener('submit', (e) => {
    e.preventDefault();
    send();
  });
  connect();
}

function connect() {
  const proto = location.protocol === 'https:' ? 'wss' : 'ws';
  const socket = new WebSocket(`${proto}://${location.host}/ws?user=${encodeURIComponent(me)}`);
  state.socket = socket;
  setConnection('connecting');
  socket.onmessage = (e) => onFrame(JSON.parse(e.data));
  socket.onclose = () => {
    if (state.socket !== socket) return;
    setConnection('offline');
    for (const item of state.pending.values()) setStatus(item, 'failed', 'Not sent: connection lost');
    state.pending.clear();
    const delay = Math.min(5000, 250 * 2 ** state.retry++);
    setTimeout(connect, delay);
  };
}

function setConnection(s) {
  document.body.dataset.state = s;
  const label = { connecting: 'connecting…', connected: 'connected', offline: 'reconnecting…' }[s];
  $('conn-state').textContent = label;
  $('conn-state').dataset.state = s;
  $('composer-input').disabled = s !== 'connected';
}

function onFrame(frame) {
  switch (frame.type) {
    case 'welcome':
      return onWelcome(frame);
    case 'presence':
      state.online = frame.online;
      state.nodes = frame.nodes;
      return renderPresence();
    case 'message':
      return receive(frame.message, { stored: frame.stored });
    case 'sent':
      return onSent(frame);
    case 'receipt':
      return onReceipt(frame);
    case 'error': {
      const item = frame.ref && state.pending.get(frame.ref);
      if (item) {
        state.pending.delete(frame.ref);
        setStatus(item, 'failed', `Not sent: ${frame.error}`);
      }
      return;
    }
  }
}

function onWelcome(frame) {
  state.retry = 0;
  state.node = frame.node;
  state.user = frame.user;
  state.links = frame.links;
  state.users = new Map(frame.users.map((u) => [u.id, u]));
  state.groups = new Map(frame.groups.map((g) => [g.id, g]));
  document.title = `${frame.user.name} on ${frame.node} · imrelay chat`;
  $('me-name').textContent = frame.user.name;
  $('me-avatar').replaceWith(Object.assign(avatar(frame.user), { id: 'me-avatar' }));
  $('me-node').textContent = frame.node;
  for (const g of state.groups.values()) conversation(`group:${g.id}`);
  for (const u of state.users.values()) if (u.id !== me) conversation(`user:${u.id}`);
  renderSidebar();
  if (!state.active) select(state.groups.size ? `group:${[...state.groups.keys()][0]}` : `user:${[...state.users.keys()][0]}`);
  setConnection('connected');
}

// ---- conversations -------------------------------------------------------

function conversation(key) {
  let c = state.conversations.get(key);
  if (c) return c;
  const [kind, id] = splitKey(key);
  const list = el('div', { className: 'messages', hidden: true });
  list.dataset.conversation = key;
  list.append(emptyNote(kind, id));
  $('conversations').append(list);
  c = { key, kind, id, list, unread: 0, last: 0 };
  state.conversations.set(key, c);
  return c;
}

function select(key) {
  const c = conversation(key);
  const previous = state.conversations.get(state.active);
  if (previous) previous.list.hidden = true;
  state.active = key;
  c.list.hidden = false;
  c.unread = 0;
  renderSidebar();
  renderHeader();
  c.list.scrollTop = c.list.scrollHeight;
  $('composer-input').placeholder = c.kind === 'group' ? `Message #${title(c)}` : `Message ${title(c)}`;
  $('composer-input').focus();
}

function title(c) {
  return c.kind === 'group' ? (state.groups.get(c.id)?.name ?? c.id) : (state.users.get(c.id)?.name ?? c.id);
}

function renderSidebar() {
  $('group-list').replaceChildren(...[...state.groups.values()].map((g) => sidebarItem(conversation(`group:${g.id}`))));
  const people = [...state.users.values()].filter((u) => u.id !== me);
  $('user-list').replaceChildren(...people.map((u) => sidebarItem(conversation(`user:${u.id}`))));
}

function sidebarItem(c) {
  const isGroup = c.kind === 'group';
  const where = isGroup ? [] : (state.online[c.id] ?? []);
  const detail = isGroup
    ? `${state.groups.get(c.id).members.length} members · ${onlineCount(state.groups.get(c.id).members)} online`
    : where.length
      ? `online on ${where.join(', ')}`
      : 'offline';
  const button = el('button', { type: 'button', className: `conv${c.key === state.active ? ' active' : ''}` }, [
    isGroup ? el('span', { className: 'group-icon' }, ['#']) : avatar(state.users.get(c.id), where.length > 0),
    el('span', { className: 'conv-text' }, [
      el('span', { className: 'conv-title' }, [title(c)]),
      el('span', { className: `conv-detail${where.length ? ' online' : ''}` }, [detail]),
    ]),
    c.unread ? el('span', { className: 'badge' }, [String(c.unread)]) : '',
  ]);
  button.dataset.testid = `conv-${c.key}`;
  button.addEventListener('click', () => select(c.key));
  return el('li', {}, [button]);
}

function renderHeader() {
  const c = state.conversations.get(state.active);
  if (!c) return;
  $('chat-title').textContent = title(c);
  $('chat-icon').replaceChildren(
    c.kind === 'group'
      ? el('span', { className: 'group-icon big' }, ['#'])
      : avatar(state.users.get(c.id), (state.online[c.id] ?? []).length > 0),
  );
  if (c.kind === 'group') {
    const names = state.groups.get(c.id).members.map((id) => (id === me ? 'you' : (state.users.get(id)?.name ?? id)));
    $('chat-subtitle').textContent = names.join(', ');
  } else {
    const where = state.online[c.id] ?? [];
    $('chat-subtitle').textContent = where.length
      ? `online on ${where.join(' and ')}`
      : 'offline: messages wait in an offline store until they connect';
  }
}

function renderPresence() {
  renderSidebar();
  renderHeader();
  const known = [...new Set([...Object.keys(state.links), ...state.nodes])].sort();
  $('node-switch').replaceChildren(
    ...known.map((node) => {
      const up = state.nodes.includes(node);
      const here = node === state.node;
      const count = Object.values(state.online).filter((nodes) => nodes.includes(node)).length;
      const people = `${count} ${count === 1 ? 'person' : 'people'} connected`;
      const hint = here
        ? `you are on ${node}; ${people}`
        : up
          ? `${people}; open as ${state.user?.name ?? me} on ${node}`
          : `${node} is down`;
      const link = el('a', { className: `node${here ? ' here' : ''}${up ? '' : ' down'}`, title: hint }, [
        el('span', { className: 'node-dot' }),
        node,
        el('span', { className: 'node-count' }, [up ? String(count) : 'down']),
      ]);
      if (!here && state.links[node]) link.href = `${state.links[node]}?user=${encodeURIComponent(me)}`;
      return link;
    }),
  );
}

function onlineCount(ids) {
  return ids.filter((id) => (state.online[id] ?? []).length > 0).length;
}

// ---- messages ------------------------------------------------------------

function send() {
  const input = $('composer-input');
  const text = input.value.trim();
  const c = state.conversations.get(state.active);
  if (!text || !c || state.socket?.readyState !== WebSocket.OPEN) return;
  const ref = crypto.randomUUID();
  const message = { id: '', from: me, to: { kind: c.kind, id: c.id }, text, sentAt: Date.now(), node: state.node };
  const item = renderMessage(c, message, { own: true });
  setStatus(item, 'sending', 'Sending…');
  state.pending.set(ref, item);
  state.socket.send(JSON.stringify({ type: 'send', ref, to: message.to, text }));
  input.value = '';
}

function onSent({ ref, message, status }) {
  const item = state.pending.get(ref);
  if (!item) return;
  state.pending.delete(ref);
  item.dataset.messageId = message.id;
  item.querySelector('time').textContent = clock(message.sentAt);
  state.messages.set(message.id, item);
  item.waiting = new Set(status.stored);
  updateOwnStatus(item);
}

function onReceipt({ id, user }) {
  const item = state.messages.get(id);
  if (!item?.waiting) return;
  item.waiting.delete(user);
  item.later = (item.later ?? 0) + 1;
  updateOwnStatus(item);
}

function updateOwnStatus(item) {
  const waiting = [...item.waiting];
  if (waiting.length === 0) {
    setStatus(item, 'delivered', item.later ? `Delivered · ${item.later} got it after coming online` : 'Delivered');
  } else {
    setStatus(item, 'stored', `Stored offline for ${waiting.map(name).join(', ')}`);
  }
}

function receive(message, { stored }) {
  if (state.messages.has(message.id)) {
    // Already shown: count it, so a duplicate delivery is visible to tests.
    state.duplicates++;
    document.body.dataset.duplicates = String(state.duplicates);
    return;
  }
  const key = message.to.kind === 'group' ? `group:${message.to.id}` : `user:${message.from === me ? message.to.id : message.from}`;
  const c = conversation(key);
  const item = renderMessage(c, message, { own: message.from === me, stored });
  state.messages.set(message.id, item);
  if (key !== state.active) {
    c.unread++;
    renderSidebar();
  }
}

function renderMessage(c, message, { own, stored }) {
  const sender = state.users.get(message.from) ?? { id: message.from, name: message.from };
  const previous = c.list.lastElementChild;
  const continued = previous?.dataset.from === message.from && message.sentAt - Number(previous.dataset.sentAt) < 3 * 60_000 && !stored;
  const meta = el('div', { className: 'meta' }, [
    el('span', { className: 'sender' }, [own ? 'You' : sender.name]),
    el('span', { className: 'via', title: `sent from node ${message.node}` }, [message.node]),
    el('time', {}, [clock(message.sentAt)]),
  ]);
  const body = el('div', { className: 'body' }, [
    meta,
    el('div', { className: 'bubble' }, [message.text]),
    stored ? el('div', { className: 'note' }, ['Kept for you while you were offline']) : '',
  ]);
  if (own) body.append(el('div', { className: 'status' }));
  const item = el('article', { className: `msg${own ? ' own' : ''}${continued ? ' continued' : ''}${stored ? ' stored' : ''}` }, [
    own ? '' : avatar(sender),
    body,
  ]);
  item.dataset.testid = 'message';
  item.dataset.from = message.from;
  item.dataset.sentAt = String(message.sentAt);
  if (message.id) item.dataset.messageId = message.id;
  c.list.querySelector('.empty')?.remove();
  c.list.append(item);
  c.last = message.sentAt;
  if (!c.list.hidden) c.list.scrollTop = c.list.scrollHeight;
  return item;
}

function setStatus(item, status, text) {
  const s = item.querySelector('.status');
  if (!s) return;
  s.dataset.testid = 'message-status';
  s.dataset.status = status;
  s.textContent = text;
}

function emptyNote(kind, id) {
  const who = kind === 'group' ? 'this group' : (state.users.get(id)?.name ?? id);
  return el('div', { className: 'empty' }, [
    el('p', {}, [`No messages with ${who} yet.`]),
    el('p', { className: 'small muted' }, ['Say hello!']),
  ]);
}

// ---- helpers -------------------------------------------------------------

function avatar(user, online) {
  const id = user?.id ?? '?';
  const span = el('span', { className: 'avatar' }, [(user?.name ?? id).slice(0, 1).toUpperCase()]);
  span.style.setProperty('--hue', String(hue(id)));
  if (online !== undefined) span.append(el('span', { className: `presence${online ? ' on' : ''}` }));
  return span;
}

function hue(id) {
  let h = 0;
  for (const ch of id) h = (h * 31 + ch.codePointAt(0)) % 360;
  return (h * 7) % 360;
}

function name(id) {
  return state.users.get(id)?.name ?? id;
}

function clock(ms) {
  return new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

function splitKey(key) {
  const i = key.indexOf(':');
  return [key.slice(0, i), key.slice(i + 1)];
}

function el(tag, props = {}, children = []) {
  const node = Object.assign(document.createElement(tag), props);
  for (const child of children) if (child !== '' && child != null) node.append(child);
  return node;
}
