// desk.js — the agent desk's page (compiled into carebus-desk).
//
// One page, drawn from the public API through the desk (/api/v1/...): the
// inbox (my tickets, my teams' queue, unassigned, breaching soon; filters,
// search without diacritics, counts per queue), the ticket (the customer's
// whole history across channels in one timeline, SLA countdowns, reply on
// the customer's channel with its delivery state, notes, canned replies,
// transfer, assignment, tags, priority, pending and solved), the customer
// panel and the supervisor's view. Live: /events (server-sent events) says
// what changed; the page re-reads what it shows. Text is built with DOM
// nodes only (never innerHTML), so nothing from a customer runs as markup.
// Writes carry the session's CSRF token (data-csrf of #app).
'use strict';

(function () {
  const root = document.getElementById('app');
  const me = {
    id: root.dataset.agent,
    name: root.dataset.name,
    role: root.dataset.role,
    teams: JSON.parse(root.dataset.teams || '[]'),
    csrf: root.dataset.csrf,
  };
  const supervisor = me.role === 'supervisor';
  const lang = root.dataset.lang === 'en' ? 'en' : 'vi';

  // --- words -----------------------------------------------------------------
  // Every word once, [Vietnamese, English], so that none lacks a language;
  // t() picks the page's.
  const WORDS = {
    inbox: ['Hộp thư', 'Inbox'], supervisor: ['Giám sát', 'Supervisor'],
    dashboard: ['Bảng KPI', 'KPI dashboard'], signout: ['Đăng xuất', 'Sign out'],
    mine: ['Của tôi', 'My tickets'], team: ['Hàng đợi nhóm', 'Team queue'],
    unassigned: ['Chưa giao', 'Unassigned'], breaching: ['Sắp trễ hạn', 'Breaching soon'],
    search: ['Tìm kiếm (không cần dấu)', 'Search (diacritics optional)'],
    channel: ['Kênh', 'Channel'], priority: ['Ưu tiên', 'Priority'], any: ['Tất cả', 'Any'],
    filters: ['Bộ lọc', 'Filters'], queues: ['Hàng đợi', 'Queues'], tickets: ['Yêu cầu', 'Tickets'],
    noTickets: ['Không có yêu cầu nào.', 'No tickets.'],
    pick: ['Chọn một yêu cầu trong hộp thư.', 'Pick a ticket in the inbox.'],
    back: ['Quay lại hộp thư', 'Back to the inbox'], timeline: ['Lịch sử', 'History'],
    reply: ['Trả lời', 'Reply'], note: ['Ghi chú nội bộ', 'Internal note'],
    send: ['Gửi trả lời', 'Send reply'], addNote: ['Thêm ghi chú', 'Add note'],
    replyVia: ['Trả lời qua', 'Reply via'], canned: ['Mẫu trả lời', 'Canned replies'],
    insert: ['Chèn', 'Insert'], solve: ['Đã giải quyết', 'Solved'],
    pending: ['Chờ phản hồi', 'Pending'], reopen: ['Mở lại', 'Reopen'],
    takeIt: ['Nhận xử lý', 'Take it'], assignTo: ['Giao cho', 'Assign to'],
    assign: ['Giao', 'Assign'], transferTo: ['Chuyển sang nhóm', 'Transfer to team'],
    reason: ['Lý do', 'Reason'], transfer: ['Chuyển', 'Transfer'], tags: ['Nhãn', 'Tags'],
    addTag: ['Thêm nhãn', 'Add tag'], remove: ['Bỏ', 'Remove'],
    setPriority: ['Đặt ưu tiên', 'Set priority'], customer: ['Khách hàng', 'Customer'],
    identities: ['Định danh', 'Identities'], segment: ['Phân khúc', 'Segment'],
    pastTickets: ['Các yêu cầu', 'Tickets'], csat: ['Mức hài lòng (CSAT)', 'Satisfaction (CSAT)'],
    attributes: ['Thuộc tính CRM', 'CRM attributes'], merge: ['Gộp khách hàng', 'Merge customers'],
    mergeId: ['Mã khách hàng cần gộp vào', 'Customer id to merge in'],
    unmerge: ['Tách khách hàng đã gộp', 'Unmerge the merged customer'],
    status: ['Trạng thái', 'Status'], open: ['Đang mở', 'Open'],
    solved: ['Đã giải quyết', 'Solved'], closed: ['Đã đóng', 'Closed'],
    assignee: ['Người xử lý', 'Assignee'], nobody: ['Chưa ai', 'Nobody'],
    sla: ['Hạn xử lý (giờ làm việc)', 'Targets (business time)'], overdue: ['Quá hạn', 'Overdue'],
    left: ['còn', 'left'], first_response: ['Phản hồi đầu', 'First response'],
    resolution: ['Giải quyết', 'Resolution'], next_response: ['Phản hồi tiếp', 'Next response'],
    queued: ['Đang chờ gửi', 'Queued'], sent: ['Đã gửi', 'Sent'],
    delivered: ['Đã nhận', 'Delivered'], read: ['Đã xem', 'Read'], failed: ['Lỗi', 'Failed'],
    in: ['Khách hàng', 'Customer'], out: ['Nhân viên', 'Agent'], noteKind: ['Ghi chú', 'Note'],
    call: ['Cuộc gọi', 'Call'], attachments: ['Tệp đính kèm', 'Attachments'],
    survey: ['Khảo sát', 'Survey'], agents: ['Nhân viên', 'Agents'],
    presence: ['Trạng thái', 'Presence'], load: ['Đang xử lý', 'Load'],
    capacity: ['Sức chứa', 'Capacity'], oldest: ['Chờ lâu nhất', 'Longest wait'],
    reassign: ['Giao lại', 'Reassign'], online: ['Trực tuyến', 'Online'],
    away: ['Vắng mặt', 'Away'], offline: ['Ngoại tuyến', 'Offline'],
    live: ['Cập nhật trực tiếp', 'Live updates'], updated: ['Đã cập nhật', 'Updated'],
    shortcuts: ['Phím tắt', 'Keyboard shortcuts'], close: ['Đóng', 'Close'],
    error: ['Có lỗi', 'Error'], ticketN: ['Yêu cầu', 'Ticket'],
    other: ['Yêu cầu khác', 'Other ticket'], loading: ['Đang tải…', 'Loading…'],
    you: ['bạn', 'you'], langName: ['English', 'Tiếng Việt'], otherLang: ['en', 'vi'],
    waiting: ['chờ', 'waiting'], min: ['phút', 'min'], h: ['giờ', 'h'], d: ['ngày', 'd'],
    drop: ['Kéo yêu cầu vào nhân viên để giao lại', 'Drag a ticket onto an agent to reassign it'],
    teamCol: ['Nhóm', 'Team'], skip: ['Tới nội dung chính', 'Skip to content'],
    outOfScope: ['Yêu cầu này không thuộc phạm vi của bạn.', 'This ticket is outside your scope.'],
  };
  const pick = (pair) => pair[lang === 'en' ? 1 : 0];
  const t = (k) => (WORDS[k] !== undefined ? pick(WORDS[k]) : k);
  // The keyboard shortcuts: the keys, then what they do in each language.
  const SHORTCUTS = [
    ['j / k', 'Yêu cầu sau / trước', 'Next / previous ticket'],
    ['Enter', 'Mở yêu cầu', 'Open the ticket'],
    ['r', 'Viết trả lời', 'Write a reply'],
    ['n', 'Viết ghi chú', 'Write a note'],
    ['s', 'Đánh dấu đã giải quyết', 'Mark solved'],
    ['p', 'Chờ phản hồi', 'Mark pending'],
    ['/', 'Tìm kiếm', 'Search'],
    ['g i', 'Hộp thư', 'Inbox'],
    ['g s', 'Giám sát', 'Supervisor'],
    ['Esc', 'Quay lại', 'Back'],
    ['?', 'Phím tắt', 'Shortcuts'],
  ];
  const CHANNELS = ['zalo', 'facebook', 'email', 'phone', 'chat', 'sms', 'whatsapp', 'instagram',
    'tiktok', 'twitter', 'helpcenter', 'store'];
  const ICON = { zalo: 'Z', facebook: 'f', email: '@', phone: '☎', chat: '…', sms: '✉',
    whatsapp: 'W', instagram: 'IG', tiktok: '♪', twitter: 'X', helpcenter: '?', store: '⌂' };
  const CH_NAME = { zalo: 'Zalo', facebook: 'Messenger', email: 'Email', phone: t('call'),
    chat: 'Chat', sms: 'SMS', whatsapp: 'WhatsApp', instagram: 'Instagram', tiktok: 'TikTok',
    twitter: 'X', helpcenter: 'Help center', store: 'Store' };

  // --- DOM ---------------------------------------------------------------------
  function el(tag, attrs, ...kids) {
    const n = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k.startsWith('on')) n.addEventListener(k.slice(2), v);
      else if (k === 'text') n.textContent = v;
      else n.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of kids.flat()) {
      if (c === null || c === undefined || c === false) continue;
      n.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return n;
  }
  // replaceChildren would write a null as the text "null".
  function fill(n, ...kids) {
    n.replaceChildren(...kids.flat().filter((k) => k !== null && k !== undefined && k !== false));
  }
  let uid = 0;
  const newId = (p) => `${p}-${++uid}`;
  function field(label, control) {
    const id = control.id || newId('f');
    control.id = id;
    return el('div', { class: 'field' }, el('label', { for: id }, label), control);
  }
  function select(name, options, value) {
    return el('select', { name }, options.map(([v, label]) =>
      el('option', { value: v, selected: v === value }, label)));
  }
  function chBadge(ch) {
    return el('span', { class: `ch ch-${ch}`, title: CH_NAME[ch] || ch },
      el('span', { 'aria-hidden': 'true' }, ICON[ch] || '•'), el('span', { class: 'ch-name' }, CH_NAME[ch] || ch));
  }
  function when(iso) {
    const d = new Date(iso);
    return d.toLocaleString(lang === 'vi' ? 'vi-VN' : 'en-GB', { dateStyle: 'short', timeStyle: 'short' });
  }
  function duration(s) {
    s = Math.max(0, Math.round(s));
    if (s < 3600) return `${Math.floor(s / 60)} ${t('min')} ${String(s % 60).padStart(2, '0')}s`;
    if (s < 86400) return `${Math.floor(s / 3600)} ${t('h')} ${Math.floor((s % 3600) / 60)} ${t('min')}`;
    return `${Math.floor(s / 86400)} ${t('d')} ${Math.floor((s % 86400) / 3600)} ${t('h')}`;
  }
  const live = el('div', { class: 'sr-only', 'aria-live': 'polite', id: 'live' });
  function say(msg) { live.textContent = msg; }

  // --- API ---------------------------------------------------------------------
  // Signing out: the page's stream and calls stop before the form goes, so
  // that none of them reaches the desk once the session is gone (a 401,
  // which the browser logs as an error) while the sign-out's navigation is
  // still on its way (slow on a loaded machine: the stream reconnects 250 ms
  // after each answer). A call asked for meanwhile never settles: the page
  // is leaving.
  let leaving = false;
  async function api(method, path, body) {
    if (leaving) return new Promise(() => {});
    const opts = { method, headers: {}, credentials: 'same-origin' };
    if (method !== 'GET') {
      opts.headers['X-CSRF-Token'] = me.csrf;
      opts.headers['Content-Type'] = 'application/json';
      opts.body = JSON.stringify(body || {});
    }
    const r = await fetch('/api' + path, opts);
    if (r.status === 401) { location.href = '/signin'; throw new Error('signed out'); }
    const j = (r.headers.get('content-type') || '').includes('json') ? await r.json() : null;
    if (!r.ok) {
      const msg = (j && j.error && j.error.message) || `HTTP ${r.status}`;
      throw Object.assign(new Error(msg), { status: r.status });
    }
    return j;
  }
  const q = (o) => Object.entries(o).filter(([, v]) => v !== '' && v !== null && v !== undefined)
    .map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&');

  // --- state -------------------------------------------------------------------
  const state = {
    tab: 'mine', filters: { q: '', channel: '', priority: '' }, items: [], queues: null,
    selected: null, ticket: null, history: [], customer: null, pastTickets: [], canned: [],
    teams: [], agents: [], cursor: 0, mode: 'note',
  };
  function tabQuery(tab) {
    const teams = supervisor ? '' : me.teams.join(',');
    const f = { q: state.filters.q, channel: state.filters.channel, priority: state.filters.priority,
      limit: 100 };
    if (tab === 'mine') return { ...f, assignee: 'me', status: 'open,pending' };
    if (tab === 'team') return { ...f, team: teams, status: 'open,pending' };
    if (tab === 'unassigned') return { ...f, team: teams, assignee: 'unassigned', status: 'open' };
    return { ...f, team: teams, status: 'open,pending', sla: 'breached,warning', sort: f.q ? '' : 'due' };
  }
  function counts() {
    const qs = state.queues;
    if (!qs) return {};
    const mineRow = qs.agents.find((a) => a.agent_id === me.id) || { open: 0, pending: 0 };
    const rows = qs.teams.filter((r) => supervisor || me.teams.includes(r.team));
    const sum = (k) => rows.reduce((a, r) => a + (r[k] || 0), 0);
    return { mine: mineRow.open + mineRow.pending, team: sum('open') + sum('pending'),
      unassigned: sum('unassigned'), breaching: sum('breaching') };
  }

  // --- layout ------------------------------------------------------------------
  const header = el('header', { class: 'top' });
  const main = el('main', { id: 'main', tabindex: '-1' });
  const dialog = el('dialog', { id: 'help', 'aria-labelledby': 'help-title' });
  root.append(el('a', { class: 'skip', href: '#main' }, t('skip')),
    header, main, dialog, live);

  function drawHeader() {
    fill(header,
      el('h1', {}, 'carebus'),
      el('nav', { 'aria-label': t('inbox') },
        el('a', { href: '#/', 'aria-current': route().view === 'inbox' ? 'page' : null }, t('inbox')),
        supervisor ? el('a', { href: '#/supervisor', 'aria-current': route().view === 'sup' ? 'page' : null }, t('supervisor')) : null),
      el('div', { class: 'me' },
        el('span', { class: 'who' }, me.name),
        presenceControl(),
        el('a', { href: `?lang=${t('otherLang')}${location.hash}`, hreflang: t('otherLang'), lang: t('otherLang') }, t('langName')),
        el('button', { type: 'button', class: 'ghost small', onclick: () => showHelp(), 'aria-keyshortcuts': '?' }, t('shortcuts')),
        el('form', { method: 'post', action: '/signout', class: 'inline', onsubmit: () => leave() },
          el('input', { type: 'hidden', name: 'csrf', value: me.csrf }),
          el('button', { type: 'submit', class: 'ghost small' }, t('signout')))));
  }

  // The agent's own presence (PUT /v1/agents/{id}/presence keeps capacity
  // and teams as the agent's record has them).
  function presenceControl() {
    const sel = select('presence', ['online', 'away', 'offline'].map((p) => [p, t(p)]), state.presence || 'online');
    sel.id = 'presence';
    sel.addEventListener('change', async () => {
      try {
        const a = await api('GET', `/v1/agents/${encodeURIComponent(me.id)}`);
        await api('PUT', `/v1/agents/${encodeURIComponent(me.id)}/presence`, { presence: sel.value, capacity: a.capacity, teams: a.teams, leads: a.leads || [] });
        state.presence = sel.value; say(t(sel.value));
      } catch (e) { showError(e); }
    });
    return el('span', { class: 'presence' }, el('label', { for: 'presence', class: 'sr-only' }, t('presence')), sel);
  }

  function route() {
    const h = location.hash;
    if (h.startsWith('#/t/')) return { view: 'inbox', ticket: decodeURIComponent(h.slice(4)) };
    if (h === '#/supervisor' && supervisor) return { view: 'sup' };
    const tab = /^#\/(mine|team|unassigned|breaching)$/.exec(h);
    return { view: 'inbox', tab: tab ? tab[1] : null };
  }

  // --- inbox -------------------------------------------------------------------
  const listPane = el('section', { class: 'list', 'aria-labelledby': 'list-title' });
  const ticketPane = el('section', { class: 'ticket', 'aria-live': 'off' });
  const customerPane = el('aside', { class: 'customer' });

  function drawList() {
    const c = counts();
    const tabs = el('div', { class: 'tabs', role: 'tablist', 'aria-label': t('queues') },
      ['mine', 'team', 'unassigned', 'breaching'].map((k) => el('button', {
        type: 'button', role: 'tab', 'aria-selected': String(state.tab === k), 'data-tab': k,
        onclick: () => { state.tab = k; state.cursor = 0; loadList(); if (!route().ticket) history.replaceState(null, '', `#/${k}`); },
      }, t(k), ' ', el('span', { class: 'count', 'data-count': k }, c[k] === undefined ? '' : String(c[k])))));
    // A live redraw keeps what the agent is typing, not the last search sent.
    const typed = document.getElementById('search');
    const search = el('input', { type: 'search', name: 'q', value: typed ? typed.value : state.filters.q, id: 'search',
      'aria-keyshortcuts': '/', autocomplete: 'off' });
    const chan = select('channel', [['', t('any')], ...CHANNELS.map((x) => [x, CH_NAME[x]])], state.filters.channel);
    const prio = select('priority', [['', t('any')], ['urgent', 'urgent'], ['high', 'high'], ['normal', 'normal'], ['low', 'low']], state.filters.priority);
    const form = el('form', { class: 'filters', role: 'search', onsubmit: (e) => {
      e.preventDefault();
      state.filters = { q: search.value.trim(), channel: chan.value, priority: prio.value };
      loadList();
    } }, field(t('search'), search), field(t('channel'), chan), field(t('priority'), prio),
    el('button', { type: 'submit' }, t('filters')));
    chan.addEventListener('change', () => form.requestSubmit());
    prio.addEventListener('change', () => form.requestSubmit());
    const ul = el('ul', { class: 'tickets', 'aria-label': t('tickets'), id: 'ticket-list' });
    state.items.forEach((it, i) => {
      const sla = it.sla ? el('span', { class: `sla sla-${it.sla.state}` }, it.sla.state === 'breached' ? t('overdue') : duration((new Date(it.sla.due_at) - Date.now()) / 1000)) : null;
      ul.append(el('li', { class: 'row' + (it.id === state.selected ? ' selected' : '') + (i === state.cursor ? ' cursor' : ''),
        'data-ticket': it.id, draggable: supervisor ? 'true' : null,
        ondragstart: (e) => e.dataTransfer.setData('text/plain', it.id) },
      el('a', { href: `#/t/${it.id}`, 'aria-current': it.id === state.selected ? 'true' : null },
        el('span', { class: 'line1' }, chBadge(it.channel), ' ',
          el('strong', {}, it.customer_name || '—'), ' ', el('span', { class: 'muted' }, `#${it.number ?? ''}`),
          it.priority && it.priority !== 'normal' ? el('span', { class: `prio prio-${it.priority}` }, it.priority) : null,
          it.segment === 'vip' ? el('span', { class: 'vip' }, 'VIP') : null),
        el('span', { class: 'line2' }, it.subject || (it.last_message && it.last_message.preview) || ''),
        el('span', { class: 'line3 muted' }, it.team || '', ' · ', it.assignee || t('nobody'), ' · ', when(it.updated_at), ' ', sla))));
    });
    fill(listPane, el('h2', { id: 'list-title', class: 'sr-only' }, t('inbox')), tabs, form,
      state.items.length ? ul : el('p', { class: 'empty' }, t('noTickets')));
  }

  let listSeq = 0;
  async function loadList() {
    const mine = ++listSeq;
    try {
      const [page, queues] = await Promise.all([api('GET', '/v1/tickets?' + q(tabQuery(state.tab))), api('GET', '/v1/queues')]);
      if (mine !== listSeq) return;
      state.items = page.items;
      state.queues = queues;
      if (state.cursor >= state.items.length) state.cursor = Math.max(0, state.items.length - 1);
      const focused = document.activeElement && document.activeElement.id;
      drawList();
      if (focused === 'search') { const s = document.getElementById('search'); s.focus(); s.setSelectionRange(s.value.length, s.value.length); }
      if (!document.body.dataset.inboxReady) performance.mark('inbox-ready');
      document.body.dataset.inboxReady = '1';
    } catch (e) { showError(e); }
  }

  // --- ticket ------------------------------------------------------------------
  async function loadTicket(id) {
    state.selected = id;
    try {
      const tk = await api('GET', `/v1/tickets/${id}`);
      if (state.selected !== id) return;
      state.ticket = tk;
      const [cust, past] = await Promise.all([
        api('GET', `/v1/customers/${tk.customer_id}`).catch(() => null),
        api('GET', `/v1/customers/${tk.customer_id}/tickets?limit=20`).catch(() => ({ items: [] })),
      ]);
      state.customer = cust;
      state.pastTickets = past.items;
      // The customer's whole history: this ticket's timeline and up to five earlier tickets'.
      const others = past.items.filter((p) => p.id !== id).slice(0, 5);
      const olds = await Promise.all(others.map((p) => api('GET', `/v1/tickets/${p.id}`).catch(() => null)));
      state.history = [];
      for (const e of tk.timeline || []) state.history.push({ ...e, ticket: tk });
      for (const o of olds.filter(Boolean)) for (const e of o.timeline || []) state.history.push({ ...e, ticket: o });
      state.history.sort((a, b) => new Date(a.at) - new Date(b.at));
      state.otherTickets = olds.filter(Boolean);
      if (!state.canned.length) api('GET', '/v1/canned-replies').then((c) => { state.canned = c.canned_replies || []; drawTicket(); }).catch(() => {});
      if (!state.teams.length) api('GET', '/v1/teams').then((x) => { state.teams = x.teams || []; drawTicket(); }).catch(() => {});
      if (!state.agents.length) api('GET', '/v1/agents').then((x) => { state.agents = x.agents || []; drawTicket(); }).catch(() => {});
      drawTicket();
      drawCustomer();
    } catch (e) {
      state.ticket = null;
      fill(ticketPane, el('p', { class: 'error', role: 'alert' }, e.status === 403 ? t('outOfScope') : e.message));
      fill(customerPane);
    }
  }

  function deliveryBadge(d) {
    if (!d) return null;
    const reason = d.error ? `: ${d.error.message || d.error.code || ''}` : '';
    return el('span', { class: `delivery d-${d.status}`, 'data-delivery': d.status }, t(d.status) + reason);
  }

  function entry(e) {
    const tk = e.ticket;
    const other = state.ticket && tk.id !== state.ticket.id;
    if (e.kind === 'message') {
      const isCall = e.channel === 'phone';
      const dir = e.direction === 'note' ? 'note' : e.direction;
      const who = dir === 'in' ? (state.customer && state.customer.name) || t('in') : (e.agent_id || t('out'));
      return el('li', { class: `entry msg dir-${dir}` + (other ? ' other' : ''), 'data-channel': e.channel, 'data-kind': isCall ? 'call' : dir },
        el('div', { class: 'meta' }, chBadge(e.channel), ' ', el('strong', {}, dir === 'note' ? t('noteKind') : who), ' · ',
          el('time', { datetime: e.at }, when(e.at)),
          other ? el('span', { class: 'muted' }, ` · ${t('other')} #${tk.number ?? ''}`) : null,
          e.outbound_kind === 'survey' ? el('span', { class: 'muted' }, ` · ${t('survey')}`) : null),
        isCall && !e.text ? el('p', {}, t('call')) : el('p', { class: 'text' }, e.text || ''),
        e.attachments && e.attachments.length ? el('ul', { class: 'attachments', 'aria-label': t('attachments') },
          e.attachments.map((a) => el('li', {}, el('a', { href: a.url, rel: 'noopener noreferrer', target: '_blank', download: a.name || true },
            a.name || a.url), a.size ? el('span', { class: 'muted' }, ` (${Math.ceil(a.size / 1024)} KB)`) : null))) : null,
        deliveryBadge(e.delivery));
    }
    const detail = Object.entries(e).filter(([k, v]) => !['kind', 'at', 'ticket', 'event_id'].includes(k) && v !== null && typeof v !== 'object')
      .map(([k, v]) => `${k}: ${v}`).join(', ');
    return el('li', { class: 'entry event' + (other ? ' other' : ''), 'data-kind': e.kind },
      el('div', { class: 'meta' }, el('strong', {}, e.kind), ' · ', el('time', { datetime: e.at }, when(e.at))),
      detail ? el('p', { class: 'muted' }, detail) : null);
  }

  function slaBox(tk) {
    const targets = Array.isArray(tk.sla) ? tk.sla.filter((s) => s.status === 'running') : [];
    if (!targets.length) return null;
    return el('section', { class: 'sla-box', 'aria-label': t('sla') }, el('h3', {}, t('sla')),
      el('ul', {}, targets.map((s) => {
        const left = s.remaining_business_secs;
        return el('li', { class: s.breached ? 'sla-breached' : (s.warned ? 'sla-warning' : 'sla-within') },
          `${t(s.target)}: `, el('span', { class: 'countdown', 'data-left': left ?? '', 'data-breached': s.breached ? '1' : '' },
            s.breached ? t('overdue') : (left != null ? `${duration(left)} ${t('left')}` : when(s.due_at))));
      })));
  }

  function surveyLine(tk) {
    const v = tk.survey;
    if (!v) return null;
    const parts = [`${t('survey')}: ${v.status}`];
    if (v.csat != null) parts.push(`CSAT ${v.csat}/5`);
    if (v.ces != null) parts.push(`CES ${v.ces}/7`);
    return el('p', { class: 'survey', 'data-survey': v.status }, parts.join(' · '), v.comment ? el('q', {}, ` ${v.comment}`) : null);
  }

  function lastInboundChannel(tk) {
    const ins = (tk.messages || []).filter((m) => m.direction === 'in');
    return ins.length ? ins[ins.length - 1].channel : tk.channel;
  }

  function drawTicket() {
    const tk = state.ticket;
    if (!tk) return;
    const ch = lastInboundChannel(tk);
    const text = el('textarea', { name: 'text', rows: 4, id: 'composer', 'aria-keyshortcuts': 'r n' });
    const cannedSel = select('canned', [['', '—'], ...state.canned.map((c) => [c.id, c.title])], '');
    const busy = (b, fn) => async (ev) => { ev.preventDefault(); b.disabled = true; try { await fn(); } catch (e) { showError(e); } finally { b.disabled = false; } };
    const sendBtn = el('button', { type: 'submit', id: 'send-reply' }, t('send'));
    const noteBtn = el('button', { type: 'button', class: 'ghost', id: 'add-note' }, t('addNote'));
    sendBtn.addEventListener('click', busy(sendBtn, async () => {
      if (!text.value.trim()) return;
      await api('POST', `/v1/tickets/${tk.id}/replies`, { text: text.value });
      text.value = ''; say(t('sent')); await loadTicket(tk.id);
    }));
    noteBtn.addEventListener('click', busy(noteBtn, async () => {
      if (!text.value.trim()) return;
      await api('POST', `/v1/tickets/${tk.id}/replies`, { text: text.value, internal_note: true });
      text.value = ''; say(t('noteKind')); await loadTicket(tk.id);
    }));
    const insertBtn = el('button', { type: 'button', class: 'ghost' }, t('insert'));
    insertBtn.addEventListener('click', busy(insertBtn, async () => {
      if (!cannedSel.value) return;
      const r = await api('GET', `/v1/canned-replies/${cannedSel.value}/render?ticket_id=${tk.id}`);
      text.value = (text.value ? text.value + '\n' : '') + (r.text || ''); text.focus();
    }));
    const composer = el('form', { class: 'composer', onsubmit: (e) => e.preventDefault() },
      field(`${t('reply')} / ${t('note')} — ${t('replyVia')} ${CH_NAME[ch] || ch}`, text),
      el('div', { class: 'row-actions' }, sendBtn, noteBtn,
        state.canned.length ? field(t('canned'), cannedSel) : null, state.canned.length ? insertBtn : null));

    const status = async (s) => { await api('POST', `/v1/tickets/${tk.id}/status`, { status: s }); say(t(s)); await loadTicket(tk.id); loadList(); };
    const actions = el('div', { class: 'actions', role: 'group', 'aria-label': t('status') },
      tk.status !== 'solved' ? el('button', { type: 'button', id: 'solve', 'aria-keyshortcuts': 's', onclick: (e) => busy(e.currentTarget, () => status('solved'))(e) }, t('solve')) : null,
      tk.status === 'open' ? el('button', { type: 'button', class: 'ghost', 'aria-keyshortcuts': 'p', id: 'pending', onclick: (e) => busy(e.currentTarget, () => status('pending'))(e) }, t('pending')) : null,
      tk.status !== 'open' ? el('button', { type: 'button', class: 'ghost', onclick: (e) => busy(e.currentTarget, () => status('open'))(e) }, t('reopen')) : null,
      tk.assignee !== me.id ? el('button', { type: 'button', class: 'ghost', id: 'take', onclick: (e) => busy(e.currentTarget, async () => { await api('POST', `/v1/tickets/${tk.id}/assign`, { agent_id: me.id }); await loadTicket(tk.id); loadList(); })(e) }, t('takeIt')) : null);

    const teamSel = select('team', state.teams.map((x) => [x.id, x.name]), tk.team);
    const reason = el('input', { name: 'reason', autocomplete: 'off' });
    const transferForm = el('form', { class: 'mini', onsubmit: async (e) => { e.preventDefault(); try { await api('POST', `/v1/tickets/${tk.id}/transfer`, { team: teamSel.value, reason: reason.value || 'desk' }); await loadTicket(tk.id); loadList(); } catch (x) { showError(x); } } },
      field(t('transferTo'), teamSel), field(t('reason'), reason), el('button', { type: 'submit', class: 'ghost' }, t('transfer')));
    const agentSel = select('agent', state.agents.map((a) => [a.id, `${a.name || a.id} (${t(a.presence || 'offline')})`]), tk.assignee || '');
    const assignForm = supervisor ? el('form', { class: 'mini', onsubmit: async (e) => { e.preventDefault(); try { await api('POST', `/v1/tickets/${tk.id}/assign`, { agent_id: agentSel.value }); await loadTicket(tk.id); loadList(); } catch (x) { showError(x); } } },
      field(t('assignTo'), agentSel), el('button', { type: 'submit', class: 'ghost', id: 'assign' }, t('assign'))) : null;
    const tagInput = el('input', { name: 'tag', autocomplete: 'off' });
    const tagForm = el('form', { class: 'mini', onsubmit: async (e) => { e.preventDefault(); if (!tagInput.value.trim()) return; try { await api('PATCH', `/v1/tickets/${tk.id}`, { tags_add: [tagInput.value.trim()] }); await loadTicket(tk.id); } catch (x) { showError(x); } } },
      field(t('addTag'), tagInput), el('button', { type: 'submit', class: 'ghost' }, t('addTag')));
    const tags = el('ul', { class: 'tags', 'aria-label': t('tags') }, (tk.tags || []).map((g) => el('li', {}, g, ' ',
      el('button', { type: 'button', class: 'link', 'aria-label': `${t('remove')} ${g}`, onclick: async () => { try { await api('PATCH', `/v1/tickets/${tk.id}`, { tags_remove: [g] }); await loadTicket(tk.id); } catch (x) { showError(x); } } }, '×'))));
    const prioSel = select('priority', [['urgent', 'urgent'], ['high', 'high'], ['normal', 'normal'], ['low', 'low']], tk.priority || 'normal');
    const prioForm = supervisor ? el('form', { class: 'mini', onsubmit: async (e) => { e.preventDefault(); try { await api('PATCH', `/v1/tickets/${tk.id}`, { priority: prioSel.value }); await loadTicket(tk.id); loadList(); } catch (x) { showError(x); } } },
      field(t('setPriority'), prioSel), el('button', { type: 'submit', class: 'ghost' }, t('setPriority'))) : null;

    fill(ticketPane,
      el('a', { href: '#/', class: 'back' }, '← ', t('back')),
      el('h2', { id: 'ticket-title', tabindex: '-1' }, `${t('ticketN')} #${tk.number ?? ''} · ${tk.subject || (CH_NAME[tk.channel] || tk.channel)}`),
      el('p', { class: 'facts' },
        el('span', { class: `status st-${tk.status}`, 'data-status': tk.status }, t(tk.status)), ' · ',
        `${t('priority')}: ${tk.priority || 'normal'}`, ' · ', `${t('teamCol')}: ${tk.team || '—'}`, ' · ',
        `${t('assignee')}: `, el('span', { 'data-assignee': tk.assignee || '' }, tk.assignee || t('nobody'))),
      slaBox(tk), surveyLine(tk), actions,
      el('h3', {}, t('timeline')),
      el('ol', { class: 'timeline', 'aria-label': t('timeline'), id: 'timeline' }, state.history.map(entry)),
      composer,
      el('details', { class: 'more' }, el('summary', {}, `${t('tags')}, ${t('transfer')}, ${t('assign')}`),
        tags, tagForm, transferForm, assignForm, prioForm));
  }

  // --- customer ----------------------------------------------------------------
  function drawCustomer() {
    const c = state.customer;
    if (!c) { fill(customerPane); return; }
    const surveys = [state.ticket, ...(state.otherTickets || [])].filter((x) => x && x.survey && x.survey.csat);
    const mergeIn = el('input', { name: 'merged_id', autocomplete: 'off' });
    fill(customerPane,
      el('h2', {}, t('customer')),
      el('p', { class: 'cust-name' }, el('strong', {}, c.name || '—'), ' ', el('span', { class: `seg seg-${c.segment}` }, `${t('segment')}: ${c.segment}`)),
      el('h3', {}, t('identities')),
      el('ul', { class: 'idents' }, (c.identities || []).map((i) => el('li', {}, chBadge(i.kind === 'phone' ? 'phone' : i.kind), ' ', i.value))),
      Object.keys(c.attributes || {}).length ? el('div', {}, el('h3', {}, t('attributes')),
        el('dl', {}, Object.entries(c.attributes).flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, typeof v === 'object' ? JSON.stringify(v) : String(v))]))) : null,
      el('h3', {}, t('pastTickets')),
      el('ul', { class: 'past' }, state.pastTickets.map((p) => el('li', {},
        el('a', { href: `#/t/${p.id}` }, `#${p.number ?? ''} ${p.subject || ''}`), ' ', chBadge(p.channel), ' ', el('span', { class: 'muted' }, t(p.status))))),
      el('h3', {}, t('csat')),
      surveys.length ? el('ul', {}, surveys.map((x) => el('li', {}, `#${x.number}: ${x.survey.csat}/5`))) : el('p', { class: 'muted' }, '—'),
      supervisor ? el('form', { class: 'mini', onsubmit: async (e) => { e.preventDefault(); try { await api('POST', `/v1/customers/${c.id}/merge`, { merged_id: mergeIn.value.trim() }); await loadTicket(state.selected); } catch (x) { showError(x); } } },
        el('h3', {}, t('merge')), field(t('mergeId'), mergeIn), el('button', { type: 'submit', class: 'ghost' }, t('merge'))) : null,
      supervisor && (c.merged_ids || []).length ? el('button', { type: 'button', class: 'ghost', onclick: async () => { try { await api('POST', `/v1/customers/${c.id}/unmerge`, {}); await loadTicket(state.selected); } catch (x) { showError(x); } } }, t('unmerge')) : null);
  }

  // --- supervisor --------------------------------------------------------------
  async function drawSupervisor() {
    try {
      const [qs, ag, list] = await Promise.all([api('GET', '/v1/queues'), api('GET', '/v1/agents'),
        api('GET', '/v1/tickets?' + q({ status: 'open,pending', limit: 100 }))]);
      state.agents = ag.agents || [];
      const agentSel = (tk) => select('agent', state.agents.map((a) => [a.id, a.name || a.id]), tk.assignee || '');
      const reassign = async (ticketId, agentId) => { await api('POST', `/v1/tickets/${ticketId}/assign`, { agent_id: agentId }); say(t('reassign')); drawSupervisor(); };
      const oldest = (s) => (s ? duration(s) : '—');
      fill(main, el('div', { class: 'sup' },
        el('h2', {}, t('supervisor')),
        el('p', {}, el('a', { href: dashboardUrl(), rel: 'noopener' }, t('dashboard'))),
        el('h3', { id: 'q-title' }, t('queues')),
        el('div', { class: 'scroll', tabindex: '0', role: 'region', 'aria-labelledby': 'q-title' }, el('table', { 'aria-labelledby': 'q-title' },
          el('thead', {}, el('tr', {}, [t('teamCol'), t('open'), t('pending'), t('unassigned'), t('breaching'), t('oldest')].map((h) => el('th', { scope: 'col' }, h)))),
          el('tbody', {}, qs.teams.map((r) => el('tr', {}, el('th', { scope: 'row' }, r.team), el('td', {}, r.open), el('td', {}, r.pending), el('td', {}, r.unassigned), el('td', {}, r.breaching), el('td', {}, oldest(r.oldest_waiting_s))))))),
        el('h3', { id: 'a-title' }, t('agents')),
        el('p', { class: 'muted' }, t('drop')),
        el('div', { class: 'scroll', tabindex: '0', role: 'region', 'aria-labelledby': 'a-title' }, el('table', { 'aria-labelledby': 'a-title' },
          el('thead', {}, el('tr', {}, [t('agents'), t('presence'), t('load'), t('capacity'), t('open'), t('oldest')].map((h) => el('th', { scope: 'col' }, h)))),
          el('tbody', {}, qs.agents.map((a) => el('tr', { 'data-agent': a.agent_id, class: 'drop',
            ondragover: (e) => e.preventDefault(), ondrop: (e) => { e.preventDefault(); reassign(e.dataTransfer.getData('text/plain'), a.agent_id).catch(showError); } },
          el('th', { scope: 'row' }, a.name || a.agent_id), el('td', {}, el('span', { class: `pres pres-${a.presence}` }, t(a.presence || 'offline'))),
          el('td', {}, a.load ?? ''), el('td', {}, a.capacity ?? ''), el('td', {}, a.open), el('td', {}, oldest(a.oldest_waiting_s))))))),
        el('h3', { id: 't-title' }, t('tickets')),
        el('ul', { class: 'tickets sup-list', 'aria-labelledby': 't-title' }, list.items.map((tk) => {
          const sel = agentSel(tk);
          return el('li', { class: 'row', draggable: 'true', 'data-ticket': tk.id, ondragstart: (e) => e.dataTransfer.setData('text/plain', tk.id) },
            el('a', { href: `#/t/${tk.id}` }, chBadge(tk.channel), ' ', `#${tk.number ?? ''} ${tk.customer_name || ''} — ${tk.subject || ''}`),
            el('form', { class: 'mini inline', onsubmit: (e) => { e.preventDefault(); reassign(tk.id, sel.value).catch(showError); } },
              field(`${t('reassign')} #${tk.number ?? ''}`, sel), el('button', { type: 'submit', class: 'ghost small' }, t('reassign'))));
        }))));
      document.body.dataset.supReady = '1';
    } catch (e) { showError(e); }
  }
  function dashboardUrl() {
    // The KPI dashboard is analytics' page, on its own port of this host.
    const port = root.dataset.dashboardPort || '8084';
    return `${location.protocol}//${location.hostname}:${port}/?lang=${lang}`;
  }

  // --- errors, help --------------------------------------------------------------
  function showError(e) {
    if (e && e.message === 'signed out') return;
    const box = el('p', { class: 'error', role: 'alert' }, `${t('error')}: ${e.message || e}`);
    main.prepend(box);
    setTimeout(() => box.remove(), 6000);
  }
  function showHelp() {
    fill(dialog, el('h2', { id: 'help-title' }, t('shortcuts')),
      el('dl', { class: 'keys' }, SHORTCUTS.flatMap(([k, ...what]) => [el('dt', {}, el('kbd', {}, k)), el('dd', {}, pick(what))])),
      el('button', { type: 'button', onclick: () => dialog.close() }, t('close')));
    dialog.showModal();
  }

  // --- views ---------------------------------------------------------------------
  async function render() {
    drawHeader();
    const r = route();
    document.body.dataset.view = r.view;
    if (r.view === 'sup') { state.selected = null; await drawSupervisor(); return; }
    if (!main.contains(listPane)) {
      fill(main, el('div', { class: 'desk' }, listPane, ticketPane, customerPane));
    }
    if (r.tab) state.tab = r.tab;
    document.body.classList.toggle('has-ticket', !!r.ticket);
    if (r.ticket) { await loadTicket(r.ticket); const h = document.getElementById('ticket-title'); if (h) h.focus(); }
    else { state.selected = null; state.ticket = null; fill(ticketPane, el('p', { class: 'empty' }, t('pick'))); fill(customerPane); }
    drawList();
  }
  window.addEventListener('hashchange', () => {
    fill(main);
    render().then(() => { const r = route(); if (r.view === 'inbox' && !r.ticket) loadList(); });
  });

  // --- live --------------------------------------------------------------------
  let pending = null;
  function changed(list) {
    if (pending) clearTimeout(pending);
    pending = setTimeout(() => {
      pending = null;
      const r = route();
      if (r.view === 'sup') { drawSupervisor(); return; }
      loadList();
      if (state.selected && list.some((c) => !c.ticket_id || c.ticket_id === state.selected || (state.otherTickets || []).some((o) => o.id === c.ticket_id))) {
        const active = document.activeElement;
        const draft = document.getElementById('composer');
        const text = draft ? draft.value : '';
        loadTicket(state.selected).then(() => {
          const d = document.getElementById('composer');
          if (d && text) d.value = text;
          if (active && active.id && document.getElementById(active.id)) document.getElementById(active.id).focus();
        });
      }
    }, 150);
  }
  // again: after the browser gave up. The new stream starts at the desk's
  // newest cursor (stream.c), so what changed meanwhile is re-read whole.
  let stream = null;
  function connect(again) {
    if (leaving) return;
    const es = stream = new EventSource('/events');
    es.addEventListener('hello', () => { document.body.dataset.live = '1'; if (again) changed([{}]); });
    es.addEventListener('changes', (e) => { try { changed(JSON.parse(e.data)); } catch (x) { /* a bad batch: the next one re-reads */ } });
    // Each batch ends its response and the browser reconnects (stream.c):
    // an error is only the end when the browser gives up.
    es.onerror = () => { if (es.readyState === EventSource.CLOSED) { document.body.dataset.live = '0'; setTimeout(() => connect(true), 3000); } };
  }
  function leave() {
    leaving = true;
    if (stream) stream.close();
    if (pending) { clearTimeout(pending); pending = null; }
  }
  // A page left for the sign-out and shown again from the browser's cache
  // (Back) is a dead one: load it afresh (the desk then asks to sign in).
  window.addEventListener('pageshow', (e) => { if (e.persisted && leaving) location.reload(); });

  // --- keyboard ------------------------------------------------------------------
  let g = false;
  document.addEventListener('keydown', (e) => {
    const tag = (e.target.tagName || '').toLowerCase();
    if (['input', 'textarea', 'select'].includes(tag) || e.ctrlKey || e.metaKey || e.altKey) {
      if (e.key === 'Escape' && tag !== 'select') e.target.blur();
      return;
    }
    if (dialog.open) return;
    const k = e.key;
    if (g) { g = false; if (k === 'i') location.hash = '#/'; if (k === 's' && supervisor) location.hash = '#/supervisor'; return; }
    if (k === 'g') { g = true; return; }
    if (k === '?') { showHelp(); e.preventDefault(); return; }
    if (k === '/') { const s = document.getElementById('search'); if (s) { s.focus(); e.preventDefault(); } return; }
    if (k === 'Escape') { location.hash = '#/'; return; }
    if (k === 'j' || k === 'k') {
      state.cursor = Math.min(Math.max(0, state.cursor + (k === 'j' ? 1 : -1)), Math.max(0, state.items.length - 1));
      drawList();
      const row = document.querySelector('#ticket-list li.cursor a'); if (row) row.focus();
      return;
    }
    if ((k === 'Enter' || k === 'o') && tag !== 'a' && state.items[state.cursor]) { location.hash = `#/t/${state.items[state.cursor].id}`; return; }
    if (k === 'r' || k === 'n') { const c = document.getElementById('composer'); if (c) { c.focus(); e.preventDefault(); } return; }
    if (k === 's') { const b = document.getElementById('solve'); if (b) b.click(); return; }
    if (k === 'p') { const b = document.getElementById('pending'); if (b) b.click(); }
  });

  // SLA countdowns tick every second on the page (the API's remaining
  // business seconds; re-read with each change).
  setInterval(() => {
    for (const c of document.querySelectorAll('.countdown[data-left]')) {
      if (c.dataset.breached || c.dataset.left === '') continue;
      const left = Number(c.dataset.left) - 1;
      c.dataset.left = String(left);
      c.textContent = left > 0 ? `${duration(left)} ${t('left')}` : t('overdue');
    }
  }, 1000);

  api('GET', `/v1/agents/${encodeURIComponent(me.id)}`).then((a) => {
    state.presence = a.presence || 'offline';
    const sel = document.getElementById('presence'); if (sel) sel.value = state.presence;
  }).catch(() => {});
  document.documentElement.lang = lang;
  render().then(() => { if (route().view === 'inbox') loadList(); });
  connect();
})();
