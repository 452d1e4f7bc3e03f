/*
 * 信易批 · BPMN 设计器页面（admin/templates/xinyipi/processes/designer.html）。
 *
 *   XinYiPiBpmnModeler.designer(config)   -> Promise<designer>
 *
 * config: { sourceUrl, saveUrl, importUrl, tokenUrl, draftId, revision, filename, csrfToken,
 *           locale, report, messages, pathLabels, decisionLabels, limitBytes }
 * The page provides the elements with the ids used below (#xyp-designer-canvas …).
 *
 * Nothing the designer draws is lost by a failed request: the modeler keeps its state, the
 * error is shown (role="alert"), and leaving the page with unsaved changes asks first.
 */
import { stampExporter } from './behaviors';

const MESSAGES = {
  loading: '正在加载流程图…',
  loadFailed: '流程图加载失败：%(detail)s',
  unsaved: '有未保存的修改',
  saving: '正在保存并校验…',
  saved: '已保存为草稿 #%(id)s，%(verdict)s',
  verdictOk: '校验通过，可以发布',
  verdictBad: '校验未通过：%(n)s 个错误',
  network: '网络错误，未保存。您的修改仍保留在本页，请稍后重试（也可以先导出 .bpmn 文件）。',
  session: '登录已超时或会话已失效，未保存。您的修改仍保留在本页：请在新标签页重新登录后再点“保存”（也可以先导出 .bpmn 文件）。',
  server: '服务器出错（%(status)s），未保存。您的修改仍保留在本页。',
  exportFailed: '导出失败：%(detail)s',
  importing: '正在导入…',
  imported: '已导入“%(name)s”，尚未保存。',
  importFailed: '导入失败，图未改变：%(detail)s',
  tooLarge: '文件过大：BPMN 文件不超过 %(kb)s KB。',
  leave: '有未保存的修改，确定离开？',
  noErrors: '没有错误。',
  noWarnings: '没有警告。',
  noRuns: '流程有错误，未试运行。',
  record: '有',
  noRecord: '无',
  noHuman: '无人工环节',
  runError: '出错：%(e)s',
  showRun: '在图中显示',
  hideRun: '取消显示',
  saveAsNew: '另存为新草稿',
  publishDirty: '有未保存的修改：请先保存并校验，再发布。',
  publishBad: '校验未通过，不能发布。',
  elementError: '错误',
};

function format(template, values) {
  return template.replace(/%\((\w+)\)s/g, (all, key) => (values && key in values ? String(values[key]) : all));
}

function $(id) {
  return document.getElementById(id);
}

function el(tag, attrs, children) {
  const node = document.createElement(tag);
  Object.entries(attrs || {}).forEach(([k, v]) => {
    if (k === 'text') node.textContent = v;
    else if (k === 'className') node.className = v;
    else node.setAttribute(k, v);
  });
  (children || []).forEach((c) => node.appendChild(typeof c === 'string' ? document.createTextNode(c) : c));
  return node;
}

export async function designer(create, config) {
  const messages = Object.assign({}, MESSAGES, config.messages || {});
  const state = {
    draftId: config.draftId || null,
    revision: config.revision || '',
    filename: config.filename || '',
    report: config.report || null,
    changes: 0,
    savedChanges: 0,
    busy: false,
    shownRun: null,
    overlays: [],
    markers: [],
  };
  const status = $('xyp-designer-status');
  const alertBox = $('xyp-designer-alert');

  function say(text, kind) {
    status.textContent = text;
    status.dataset.kind = kind || 'info';
  }
  function alertError(text, extra) {
    alertBox.replaceChildren(el('span', { text }));
    if (extra) alertBox.appendChild(extra);
    alertBox.hidden = false;
  }
  function clearAlert() {
    alertBox.hidden = true;
    alertBox.replaceChildren();
  }
  const dirty = () => state.changes !== state.savedChanges;

  const modeler = create($('xyp-designer-canvas'), $('xyp-designer-panel'), null, config.modelerOptions || {});
  window.xypModeler = modeler; // for tests and the browser console: reading, never needed to edit
  const canvas = modeler.get('canvas');
  const registry = modeler.get('elementRegistry');
  const overlays = modeler.get('overlays');
  const selection = modeler.get('selection');
  const eventBus = modeler.get('eventBus');

  eventBus.on('commandStack.changed', () => {
    state.changes += 1;
    updateControls();
  });

  function updateControls() {
    const form = $('xyp-designer-publish');
    const button = $('xyp-publish-button');
    const note = $('xyp-publish-note');
    const ok = state.report && state.report.ok;
    if (form) {
      if (state.draftId) form.action = config.publishUrl.replace('/0/', '/' + state.draftId + '/');
      form.querySelector('input[name="revision"]').value = state.revision;
      button.disabled = !state.draftId || !ok || dirty() || state.busy;
      note.textContent = dirty() ? messages.publishDirty : (state.report && !ok ? messages.publishBad : '');
    }
    document.body.dataset.xypDirty = dirty() ? 'yes' : 'no';
    if (dirty() && !state.busy) say(messages.unsaved, 'dirty');
  }

  window.addEventListener('beforeunload', (event) => {
    if (dirty()) {
      event.preventDefault();
      event.returnValue = messages.leave;
      return messages.leave;
    }
    return undefined;
  });

  // --- load ------------------------------------------------------------------------------------
  /** Fit the diagram, leaving the palette's width free on the left so it covers nothing. */
  function fit() {
    canvas.zoom('fit-viewport', 'auto');
    const box = canvas.viewbox();
    const palette = document.querySelector('#xyp-designer-canvas .djs-palette');
    const room = ((palette ? palette.offsetWidth : 0) + 30) / box.scale;
    canvas.viewbox({ x: box.x - room, y: box.y - 20 / box.scale, width: box.width + room, height: box.height + 40 / box.scale });
  }

  async function load() {
    say(messages.loading);
    const response = await fetch(config.sourceUrl, { credentials: 'same-origin', headers: { Accept: 'application/xml' } });
    if (!response.ok) throw new Error('HTTP ' + response.status);
    const xml = await response.text();
    await modeler.importXML(xml);
    fit();
    state.changes = state.savedChanges = 0;
    say(state.draftId ? format(messages.saved, { id: state.draftId, verdict: verdict(state.report) }) : '');
  }

  function verdict(report) {
    if (!report) return '';
    return report.ok ? messages.verdictOk : format(messages.verdictBad, { n: (report.errors || []).length });
  }

  // --- results on the diagram ------------------------------------------------------------------
  function clearMarks() {
    state.markers.forEach(([id, cls]) => canvas.removeMarker(id, cls));
    state.overlays.forEach((id) => overlays.remove(id));
    state.markers = [];
    state.overlays = [];
  }

  function mark(id, cls) {
    if (!registry.get(id)) return false;
    canvas.addMarker(id, cls);
    state.markers.push([id, cls]);
    return true;
  }

  function focusElement(id) {
    const element = registry.get(id);
    if (!element) return;
    canvas.scrollToElement(element);
    selection.select(element);
  }

  function problemList(list, problems, kind, empty) {
    list.replaceChildren();
    if (!problems.length) {
      list.appendChild(el('li', { className: 'xyp-none', text: empty }));
      return;
    }
    problems.forEach((p) => {
      const li = el('li', { className: kind, 'data-element': p.element_id || '' });
      if (p.element_id && registry.get(p.element_id)) {
        const button = el('button', { type: 'button', className: 'btn btn-link p-0 align-baseline xyp-goto',
          text: p.element_id });
        button.addEventListener('click', () => focusElement(p.element_id));
        li.appendChild(button);
        li.appendChild(document.createTextNode('：'));
      } else if (p.element_id) {
        li.appendChild(el('code', { text: p.element_id }));
        li.appendChild(document.createTextNode('：'));
      }
      li.appendChild(document.createTextNode(p.message));
      list.appendChild(li);
    });
  }

  function showRun(index) {
    state.markers.filter(([, cls]) => cls === 'xyp-done').forEach(([id]) => canvas.removeMarker(id, 'xyp-done'));
    state.markers = state.markers.filter(([, cls]) => cls !== 'xyp-done');
    const runs = (state.report && state.report.runs) || [];
    state.shownRun = state.shownRun === index ? null : index;
    if (state.shownRun !== null && runs[index]) runs[index].visited.forEach((id) => mark(id, 'xyp-done'));
    document.querySelectorAll('#xyp-runs tbody tr').forEach((tr, i) => {
      tr.classList.toggle('xyp-shown', i === state.shownRun);
      const b = tr.querySelector('button');
      if (b) b.textContent = i === state.shownRun ? messages.hideRun : messages.showRun;
    });
  }

  function renderReport(report) {
    state.report = report;
    state.shownRun = null;
    clearMarks();
    const results = $('xyp-designer-results');
    results.hidden = !report;
    if (!report) return;
    const errors = report.errors || [];
    const warnings = report.warnings || [];
    const byElement = {};
    errors.forEach((p) => { if (p.element_id) (byElement[p.element_id] = byElement[p.element_id] || []).push(p.message); });
    Object.entries(byElement).forEach(([id, list]) => {
      if (!mark(id, 'xyp-error')) return;
      const badge = el('div', { className: 'xyp-error-badge', title: list.join('\n'), role: 'note',
        'aria-label': messages.elementError + '：' + list.join('；'), 'data-element': id });
      badge.appendChild(el('span', { className: 'xyp-error-count', text: String(list.length) }));
      badge.appendChild(el('div', { className: 'xyp-error-tip', text: list.join('\n') }));
      badge.addEventListener('click', () => focusElement(id));
      state.overlays.push(overlays.add(id, 'xyp-error', { position: { top: -10, right: 10 }, html: badge }));
    });
    warnings.forEach((p) => { if (p.element_id && !byElement[p.element_id]) mark(p.element_id, 'xyp-warning'); });

    const verdictNode = $('xyp-designer-verdict');
    verdictNode.textContent = verdict(report);
    verdictNode.className = report.ok ? 'xyp-ok' : 'xyp-bad';
    $('xyp-error-count').textContent = String(errors.length);
    $('xyp-warning-count').textContent = String(warnings.length);
    problemList($('xyp-errors'), errors, 'error', messages.noErrors);
    problemList($('xyp-warnings'), warnings, 'warning', messages.noWarnings);

    const tbody = $('xyp-runs').querySelector('tbody');
    tbody.replaceChildren();
    const runs = report.runs || [];
    $('xyp-runs').hidden = !runs.length;
    $('xyp-no-runs').hidden = !!runs.length;
    $('xyp-no-runs').textContent = messages.noRuns;
    runs.forEach((run, i) => {
      const tr = el('tr', { 'data-tier': run.tier, 'data-record': run.has_record ? 'yes' : 'no', 'data-path': run.path || '' });
      tr.appendChild(el('td', { text: run.tier_label + '（' + run.tier + '）' }));
      tr.appendChild(el('td', { text: run.has_record ? messages.record : messages.noRecord }));
      if (run.error) {
        tr.appendChild(el('td', { colspan: '4', className: 'xyp-bad', text: format(messages.runError, { e: run.error }) }));
      } else {
        const label = config.pathLabels[run.path];
        tr.appendChild(el('td', { className: 'xyp-path', text: run.path ? (label ? label + '（' + run.path + '）' : run.path) : '—' }));
        tr.appendChild(el('td', { text: config.decisionLabels[run.decision] || run.decision || '—' }));
        tr.appendChild(el('td', { className: 'xyp-end', text: run.end || '—' }));
        tr.appendChild(el('td', { className: 'xyp-tasks', text: run.human_tasks.length ? run.human_tasks.join(' → ') : messages.noHuman }));
      }
      const cell = el('td');
      const button = el('button', { type: 'button', className: 'btn btn-link btn-sm p-0', text: messages.showRun });
      button.addEventListener('click', () => showRun(i));
      cell.appendChild(button);
      tr.appendChild(cell);
      tbody.appendChild(tr);
    });
    updateControls();
  }

  // --- save --------------------------------------------------------------------------------------
  async function currentXml() {
    stampExporter(modeler);
    const { xml } = await modeler.saveXML({ format: true });
    return xml;
  }

  async function post(url, body, headers) {
    const send = () => fetch(url, {
      method: 'POST', credentials: 'same-origin', body,
      headers: Object.assign({ 'X-CSRFToken': config.csrfToken, Accept: 'application/json' }, headers || {}),
    });
    let response = await send();
    const json = (response.headers.get('Content-Type') || '').includes('application/json');
    if (!json && response.status === 400 && !response.redirected) {
      // the CSRF token expired (e.g. the designer signed in again in another tab): fetch a fresh one, once
      const fresh = await fetch(config.tokenUrl, { credentials: 'same-origin', headers: { Accept: 'application/json' } });
      if (fresh.ok && (fresh.headers.get('Content-Type') || '').includes('application/json')) {
        config.csrfToken = (await fresh.json()).csrf_token;
        document.querySelectorAll('input[name="csrf_token"]').forEach((i) => { i.value = config.csrfToken; });
        response = await send();
      }
    }
    return response;
  }

  async function readJson(response) {
    const type = response.headers.get('Content-Type') || '';
    if (response.redirected || !type.includes('application/json')) {
      throw Object.assign(new Error('not json'), {
        xypMessage: response.redirected || response.status < 500 ? messages.session
          : format(messages.server, { status: response.status }),
      });
    }
    return response.json();
  }

  async function save(options) {
    options = options || {};
    if (state.busy) return null;
    state.busy = true;
    clearAlert();
    say(messages.saving, 'busy');
    updateControls();
    const sentAt = state.changes;
    try {
      const xml = await currentXml();
      const body = JSON.stringify({
        xml, draft: options.asNew ? null : state.draftId, revision: state.revision,
        filename: state.filename, as_new: !!options.asNew,
      });
      let response;
      try {
        response = await post(config.saveUrl, body, { 'Content-Type': 'application/json' });
      } catch (error) {
        throw Object.assign(error, { xypMessage: messages.network });
      }
      const data = await readJson(response);
      if (!response.ok) {
        let extra = null;
        if (data.conflict || data.missing) {
          extra = el('button', { type: 'button', className: 'btn btn-sm btn-outline-light ml-2 xyp-save-new', text: messages.saveAsNew });
          extra.addEventListener('click', () => save({ asNew: true }));
        }
        throw Object.assign(new Error(data.error), { xypMessage: data.error, xypExtra: extra });
      }
      state.draftId = data.draft;
      state.revision = data.revision;
      state.savedChanges = sentAt;
      if (window.history && data.urls && window.location.pathname !== data.urls.designer) {
        window.history.replaceState(null, '', data.urls.designer);
      }
      const report = $('xyp-report-link');
      if (report) { report.href = data.urls.report; report.hidden = false; }
      document.body.dataset.xypDraft = String(data.draft);
      renderReport(data.report);
      say(format(messages.saved, { id: data.draft, verdict: verdict(data.report) }), data.report.ok ? 'ok' : 'bad');
      return data;
    } catch (error) {
      const text = error.xypMessage || String(error.message || error);
      alertError(text, error.xypExtra);
      say(text, 'error');
      if (window.console) console.warn('xinyipi designer: save failed', error);
      return null;
    } finally {
      state.busy = false;
      updateControls();
    }
  }

  // --- export / import -------------------------------------------------------------------------
  async function exportFile() {
    try {
      const xml = await currentXml();
      const process = modeler.getDefinitions().rootElements.find((e) => e.$type === 'bpmn:Process');
      const name = (process && process.id ? process.id : 'diagram') + '.bpmn';
      const url = URL.createObjectURL(new Blob([xml], { type: 'application/xml' }));
      const a = el('a', { href: url, download: name });
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 1000);
    } catch (error) {
      alertError(format(messages.exportFailed, { detail: error.message }));
    }
  }

  async function importFile(file) {
    clearAlert();
    if (!file) return;
    if (file.size > config.limitBytes) {
      alertError(format(messages.importFailed, { detail: format(messages.tooLarge, { kb: Math.floor(config.limitBytes / 1024) }) }));
      return;
    }
    say(messages.importing, 'busy');
    let backup = null;
    try {
      backup = (await modeler.saveXML({ format: false })).xml;
      const form = new FormData();
      form.append('file', file, file.name);
      let response;
      try {
        response = await post(config.importUrl, form);
      } catch (error) {
        throw Object.assign(error, { xypMessage: messages.network });
      }
      const data = await readJson(response);
      if (!response.ok) throw Object.assign(new Error(data.error), { xypMessage: data.error });
      try {
        await modeler.importXML(data.xml);
      } catch (error) {
        await modeler.importXML(backup);
        throw Object.assign(error, { xypMessage: error.message });
      }
      fit();
      state.filename = data.filename || state.filename;
      state.changes = state.savedChanges + 1; // imported, not saved yet
      renderReport(null);
      updateControls();
      say(format(messages.imported, { name: file.name }), 'dirty');
    } catch (error) {
      alertError(format(messages.importFailed, { detail: error.xypMessage || error.message }));
      say('', 'info');
    }
  }

  $('xyp-save').addEventListener('click', () => save());
  $('xyp-validate').addEventListener('click', async () => {
    const data = await save();
    if (data) $('xyp-designer-results').scrollIntoView({ block: 'start' });
  });
  $('xyp-export').addEventListener('click', exportFile);
  $('xyp-import').addEventListener('change', (event) => {
    importFile(event.target.files[0]);
    event.target.value = '';
  });
  const publish = $('xyp-designer-publish');
  if (publish) {
    publish.addEventListener('submit', (event) => {
      if (dirty() || !state.draftId || !(state.report && state.report.ok)) {
        event.preventDefault();
        alertError(dirty() ? messages.publishDirty : messages.publishBad);
        return;
      }
      state.savedChanges = state.changes; // leaving on purpose: nothing unsaved
    });
  }

  try {
    await load();
  } catch (error) {
    alertError(format(messages.loadFailed, { detail: error.message }));
    say('', 'error');
    return { modeler, save };
  }
  if (state.report) renderReport(state.report);
  updateControls();
  document.body.dataset.xypDesigner = 'ready';
  return { modeler, save, exportFile, importFile, renderReport };
}
