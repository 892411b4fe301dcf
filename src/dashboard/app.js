// The Shoal dashboard page: plain JS, no framework, no network beyond its own server.
// It reads the server's Server-Sent Events (`/events`): `cluster` (the whole cluster view, on every
// change), `actors` (each actor's last transition, on connect) and `transition` (one live-stream
// event each), and draws charts from `/charts.json`. See docs/VIZ.md, "Dashboard".

const $ = (id) => document.getElementById(id);
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
const actorKey = (node, path) => `${node} ${path}`;

const LOG_PER_ACTOR = 40;
const FEED_MAX = 60;

const st = {
  charts: {}, // machine id → {name, chart}
  view: null,
  actors: new Map(), // actorKey → last VizEvent
  logs: new Map(), // actorKey → recent VizEvents (newest last)
  feed: [],
  selected: null, // {node, path, kind}
};

// ---- helpers ---------------------------------------------------------------------------------

function shortState(e, kind) {
  if (!e) return '?';
  const prefix = `${kind ?? e.kind}.`;
  return e.active.map((a) => (a.startsWith(prefix) ? a.slice(prefix.length) : a)).join(' | ') || '(root)';
}

function pathLabel(path, node) {
  if (path === '/system/node') return 'node';
  if (path === '/system/raft') return 'raft';
  const self = st.view?.copies.find((c) => c.actor === path && (node === undefined || c.node === node));
  if (self) return copyLabel(self);
  const parts = path.split('/');
  // A replica group lives under its primary's shard actor: name it by that copy.
  const parent = parts.slice(0, -1).join('/');
  const copy = st.view?.copies.find((c) => c.actor === parent && (node === undefined || c.node === node));
  if (copy) return `${copy.index}[${copy.shard}] ${parts[parts.length - 1]}`;
  if (path.startsWith('/system/indices/')) return `shard ${parts[3]}`;
  return parts.slice(-2).join('/');
}

function copyLabel(c) {
  return `${c.index}[${c.shard}] ${c.primary ? 'P' : 'R'}`;
}

function copyByActor(node, path) {
  return st.view?.copies.find((c) => c.node === node && c.actor === path);
}

// ---- cluster view ------------------------------------------------------------------------------

function renderView() {
  const v = st.view;
  if (!v) return;
  $('cluster-name').textContent = v.cluster;
  const status = v.health?.status ?? 'unknown';
  const health = $('health');
  health.textContent = status;
  health.className = `health ${status}`;
  health.dataset.status = status;
  $('master').textContent = v.master ? `master ${v.master.id} (term ${v.master.term})` : 'no master';
  $('master').dataset.master = v.master?.id ?? '';
  const up = v.nodes.filter((n) => n.status === 'up').length;
  $('summary').textContent = v.health
    ? `${up}/${v.nodes.length} nodes up · ${v.health.active_shards} active copies (${v.health.active_primary_shards} primaries) · ${v.health.initializing_shards} initializing · ${v.health.relocating_shards} relocating · ${v.health.unassigned_shards} unassigned · state v${v.version}`
    : `${up}/${v.nodes.length} nodes up`;
  const err = $('error');
  err.hidden = !v.error;
  err.textContent = v.error ? `last refresh failed: ${v.error}` : '';

  // Nodes, with their actors and shard copies.
  const html = v.nodes.map((n) => {
    const copies = v.copies.filter((c) => c.node === n.id);
    const fixed = n.actors.map((a) => actorButton(n.id, a.path, a.kind, n.status === 'down'));
    const known = new Set([...n.actors.map((a) => a.path), ...copies.map((c) => c.actor)]);
    const others = [];
    if (n.status !== 'down') {
      for (const e of st.actors.values()) if (e.node === n.id && !known.has(e.actor)) others.push(actorButton(n.id, e.actor, e.kind, false));
    }
    const reason = n.reason ? `<div class="reason" data-testid="node-reason-${esc(n.id)}">${esc(n.reason)}</div>` : '';
    const proc = n.process ? ` · pid ${n.process.pid ?? '-'}${n.process.restarts ? `, ${n.process.restarts} restarts` : ''}` : '';
    return `<div class="node" data-testid="node-${esc(n.id)}" data-node="${esc(n.id)}" data-status="${n.status}" data-master="${n.master}">
      <div class="node-head"><b>${esc(n.id)}</b>${n.master ? '<span class="star" data-testid="master-star">★ master</span>' : ''}
        <span class="node-status" data-testid="node-status-${esc(n.id)}">${n.status}</span></div>
      <div class="roles">roles: ${esc(n.roles.join(', ') || '?')}${esc(proc)}</div>${reason}
      <div class="actors">${fixed.join('')}${others.join('')}</div>
      <div class="copies">${copies.map(copyButton).join('') || '<span class="muted">no shard copies</span>'}</div>
    </div>`;
  });
  $('nodes').innerHTML = html.join('');

  const unassigned = v.copies.filter((c) => c.state === 'UNASSIGNED');
  $('unassigned').innerHTML = unassigned.length
    ? unassigned.map((c) => `<span class="copy-unassigned" data-testid="shard-copy" data-key="${esc(`${c.index}/${c.shard}/${c.primary ? 'p' : 'r'}/-`)}" data-index="${esc(c.index)}" data-shard="${c.shard}" data-primary="${c.primary}" data-state="UNASSIGNED">${esc(copyLabel(c))} UNASSIGNED</span>`).join('')
    : '<span class="muted">none</span>';

  $('indices').querySelector('tbody').innerHTML = v.indices
    .map((i) => {
      const copies = v.copies.filter((c) => c.index === i.name);
      const started = copies.filter((c) => c.state === 'STARTED' || c.state === 'RELOCATING').length;
      return `<tr data-testid="index-${esc(i.name)}"><td>${esc(i.name)}</td><td><span class="badge ${esc(i.health)}">${esc(i.health)}</span></td><td>${i.shards}</td><td>${i.replicas}</td><td>${esc(i.state)}</td><td>${started} / ${copies.length}</td></tr>`;
    })
    .join('');
  markSelected();
  renderChartMeta();
}

function actorButton(node, path, kind, gone) {
  const e = gone ? undefined : st.actors.get(actorKey(node, path));
  const label = `${pathLabel(path, node)}: ${e ? shortState(e, kind) : gone ? 'down' : '…'}`;
  return `<button class="actor" data-testid="actor" data-node="${esc(node)}" data-path="${esc(path)}" data-kind="${esc(kind)}" title="${esc(`${node} ${path}`)}">${esc(label)}</button>`;
}

function copyButton(c) {
  const e = c.actor ? st.actors.get(actorKey(c.node, c.actor)) : undefined;
  const machine = e ? ` <span class="st-label">${esc(shortState(e, 'shard'))}</span>` : '';
  return `<button class="copy" data-testid="shard-copy" data-key="${esc(`${c.index}/${c.shard}/${c.primary ? 'p' : 'r'}/${c.node}`)}" data-index="${esc(c.index)}" data-shard="${c.shard}" data-primary="${c.primary}" data-state="${c.state}" data-node="${esc(c.node)}" data-path="${esc(c.actor ?? '')}" data-kind="shard" title="${esc(`${c.node} ${c.actor ?? ''} allocation ${c.allocationId ?? '?'} term ${c.primaryTerm ?? '?'}${c.inSync === false ? ' (not in sync)' : ''}`)}">${esc(copyLabel(c))} ${esc(c.state)}${machine}</button>`;
}

function markSelected() {
  for (const b of document.querySelectorAll('button.selected')) b.classList.remove('selected');
  const s = st.selected;
  if (!s) return;
  for (const b of document.querySelectorAll('button[data-path]')) if (b.dataset.node === s.node && b.dataset.path === s.path) b.classList.add('selected');
}

// ---- state charts ------------------------------------------------------------------------------

function select(node, path, kind) {
  st.selected = { node, path, kind };
  history.replaceState(null, '', `#${encodeURIComponent(node)}${path}`);
  markSelected();
  renderChart();
}

function relTarget(id, machineId) {
  return id.startsWith(`${machineId}.`) ? id.slice(machineId.length + 1) : id;
}

function transitionRow(t, source, machineId) {
  const guard = t.guard ? ` [${t.guard}]` : '';
  const target = t.targets.length === 0 ? '' : t.targets.length === 1 && t.targets[0] === source.id ? ' ↺' : ` → ${t.targets.map((x) => relTarget(x, machineId)).join(', ')}`;
  return `<li data-event="${esc(t.eventType)}" data-kind="${esc(t.kind)}" data-source="${esc(source.id)}" data-targets="${esc(t.targets.join(' '))}">${esc(t.label)}${esc(guard)}${esc(target)}</li>`;
}

function stateBox(s, parent, machineId, isRoot) {
  const moving = s.transitions.filter((t) => t.targets.length > 0);
  const inPlace = s.transitions.length - moving.length;
  const initial = parent && parent.type === 'compound' && parent.initial === s.key;
  const extras = [];
  if (s.entry.length) extras.push(`entry / ${s.entry.join(', ')}`);
  if (s.invoke.length) extras.push(`invoke ${s.invoke.map((i) => i.src).join(', ')}`);
  if (inPlace) extras.push(`${inPlace} in-place handler${inPlace > 1 ? 's' : ''}`);
  const title = s.transitions.filter((t) => t.targets.length === 0).map((t) => `on ${t.label}${t.guard ? ` [${t.guard}]` : ''} / ${t.actions.join(', ')}`).join('\n');
  return `<div class="st${isRoot ? ' st-root' : ''}" data-testid="chart-state" data-state-id="${esc(s.id)}" data-type="${esc(s.type)}" data-active="false">
    <div class="st-head${initial ? ' st-initial' : ''}">${esc(isRoot ? `${machineId} (${st.charts[st.selected?.kind]?.name ?? machineId})` : s.key)}${s.type === 'parallel' ? ' <span class="st-label">(parallel)</span>' : ''}${s.type === 'final' ? ' <span class="st-label">(final)</span>' : ''}</div>
    ${extras.length ? `<div class="st-extra" title="${esc(title)}">${esc(extras.join(' · '))}</div>` : ''}
    ${moving.length ? `<ul class="st-tr">${isRoot ? '<li class="muted">in every state:</li>' : ''}${moving.map((t) => transitionRow(t, s, machineId)).join('')}</ul>` : ''}
    ${s.states.length ? `<div class="st-children">${s.states.map((c) => stateBox(c, s, machineId, false)).join('')}</div>` : ''}
  </div>`;
}

function renderChart() {
  const s = st.selected;
  const chartEl = $('chart');
  if (!s) return;
  const entry = st.charts[s.kind];
  if (!entry) {
    chartEl.innerHTML = `<p class="muted">No chart for machine '${esc(s.kind)}'.</p>`;
  } else {
    chartEl.innerHTML = stateBox(entry.chart.root, null, entry.chart.id, true);
    chartEl.dataset.kind = s.kind;
  }
  $('chart-legend').hidden = !entry;
  chartEl.dataset.node = s.node;
  chartEl.dataset.path = s.path;
  renderChartMeta();
  highlight();
  renderLog();
}

/** Title line and the "gone" mark: they depend on the cluster view too. */
function renderChartMeta() {
  const s = st.selected;
  if (!s) return;
  const copy = copyByActor(s.node, s.path);
  const node = st.view?.nodes.find((n) => n.id === s.node);
  const what = copy ? `shard copy ${copyLabel(copy)} (${copy.state})` : `${pathLabel(s.path, s.node)}`;
  const down = node && node.status === 'down' ? ' — node down' : '';
  $('chart-title').textContent = `${what} on ${s.node}${down}`;
  $('chart-title').title = `${s.node} ${s.path}`;
}

function highlight() {
  const s = st.selected;
  if (!s) return;
  const e = st.actors.get(actorKey(s.node, s.path));
  const chartEl = $('chart');
  const active = e ? e.active : [];
  for (const box of chartEl.querySelectorAll('.st')) {
    const id = box.dataset.stateId;
    const leaf = active.includes(id);
    const onPath = !leaf && active.some((a) => a.startsWith(`${id}.`));
    box.classList.toggle('active', leaf);
    box.classList.toggle('on-path', onPath);
    box.dataset.active = String(leaf);
    box.dataset.onPath = String(onPath);
  }
  // The transitions taken last: from a state the actor was in before, to one it is in now, on
  // the event that came (or eventless, `always`, in the same step).
  const log = st.logs.get(actorKey(s.node, s.path)) ?? [];
  const prev = log.length >= 2 ? log[log.length - 2].active : [];
  const within = (leaves, id) => leaves.some((a) => a === id || a.startsWith(`${id}.`));
  for (const li of chartEl.querySelectorAll('.st-tr li.fired')) li.classList.remove('fired');
  if (e && prev.length && e.event !== 'shoal.viz.attached') {
    for (const li of chartEl.querySelectorAll('.st-tr li[data-event]')) {
      if (li.dataset.event !== e.event && li.dataset.kind !== 'always') continue;
      if (!within(prev, li.dataset.source)) continue;
      if (li.dataset.targets.split(' ').some((t) => t && within(active, t))) li.classList.add('fired');
    }
  }
  const where = $('chart-active');
  where.dataset.active = active.join(' ');
  where.textContent = e ? `current: ${active.join(', ')}  (seq ${e.seq}, after ${e.event})` : 'current state: not known yet (waiting for the live stream)';
}

function renderLog() {
  const s = st.selected;
  if (!s) return;
  const log = st.logs.get(actorKey(s.node, s.path)) ?? [];
  $('transition-log').innerHTML = log
    .slice()
    .reverse()
    .map((e) => `<li data-testid="transition" data-seq="${e.seq}">${esc(new Date(e.ts).toLocaleTimeString())} #${e.seq} ${esc(e.event)}: ${esc(fmtValue(e.from))} → ${esc(fmtValue(e.to))}</li>`)
    .join('');
}

function fmtValue(v) {
  if (v === null || v === undefined) return '∅';
  return typeof v === 'string' ? v : JSON.stringify(v);
}

// ---- live stream -------------------------------------------------------------------------------

function onTransition(e, quiet) {
  const key = actorKey(e.node, e.actor);
  const prev = st.actors.get(key);
  // A new incarnation (seq restarts) replaces the old log.
  if (prev && e.seq <= prev.seq && e.seq === 1) st.logs.delete(key);
  st.actors.set(key, e);
  const log = st.logs.get(key) ?? [];
  log.push(e);
  if (log.length > LOG_PER_ACTOR) log.shift();
  st.logs.set(key, log);
  if (quiet) return;
  if (JSON.stringify(e.from) !== JSON.stringify(e.to) && e.event !== 'shoal.viz.attached') {
    st.feed.push(e);
    if (st.feed.length > FEED_MAX) st.feed.shift();
    renderFeed();
  }
  // Update the actor's button in place.
  for (const b of document.querySelectorAll('button[data-path]')) {
    if (b.dataset.node !== e.node || b.dataset.path !== e.actor) continue;
    if (b.classList.contains('copy')) {
      const c = copyByActor(e.node, e.actor);
      if (c) b.outerHTML = copyButton(c);
    } else {
      b.textContent = `${pathLabel(e.actor, e.node)}: ${shortState(e, b.dataset.kind)}`;
    }
  }
  // A new actor (a replica group, a user machine) gets its button.
  if (!prev) renderView();
  markSelected();
  const s = st.selected;
  if (s && s.node === e.node && s.path === e.actor) {
    if (s.kind !== e.kind) {
      s.kind = e.kind;
      renderChart();
    } else {
      highlight();
      renderLog();
    }
  }
}

function renderFeed() {
  if (st.feed.length === 0) return void ($('feed').innerHTML = '<li class="muted">none yet</li>');
  $('feed').innerHTML = st.feed
    .slice()
    .reverse()
    .map((e) => `<li>${esc(new Date(e.ts).toLocaleTimeString())} ${esc(e.node)} ${esc(pathLabel(e.actor, e.node))} (${esc(e.kind)}): ${esc(fmtValue(e.from))} → ${esc(fmtValue(e.to))}</li>`)
    .join('');
}

function connect() {
  const es = new EventSource('/events');
  const conn = $('conn');
  es.onopen = () => {
    conn.dataset.state = 'live';
    conn.textContent = 'live';
  };
  es.onerror = () => {
    conn.dataset.state = 'disconnected';
    conn.textContent = 'disconnected (retrying)';
  };
  es.addEventListener('cluster', (m) => {
    st.view = JSON.parse(m.data);
    renderView();
  });
  es.addEventListener('actors', (m) => {
    // On (re)connect: the server's last transition of every actor it has seen.
    for (const e of JSON.parse(m.data)) onTransition(e, true);
    renderView();
    if (st.selected) renderChart();
  });
  es.addEventListener('transition', (m) => onTransition(JSON.parse(m.data), false));
}

document.addEventListener('click', (ev) => {
  const b = ev.target.closest('button[data-path]');
  if (!b || !b.dataset.path) return;
  select(b.dataset.node, b.dataset.path, b.dataset.kind);
});

const res = await fetch('/charts.json');
st.charts = (await res.json()).charts;
if (location.hash.length > 1) {
  // #<node>/<path>: the actor selected before a reload.
  const h = decodeURIComponent(location.hash.slice(1));
  const i = h.indexOf('/');
  if (i > 0) {
    const path = h.slice(i);
    select(h.slice(0, i), path, path === '/system/raft' ? 'raft' : path === '/system/node' ? 'node' : 'shard');
  }
}
renderFeed();
connect();
