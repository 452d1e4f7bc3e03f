/*
 * 信易批 · 流程图查看器 (bpmn-js NavigatedViewer), bundled by ../build.mjs into
 * plugin/static/vendor/bpmn-viewer.js (+ bpmn-viewer.css).
 *
 *   XinYiPiBpmn.showDiagram(container, xmlText, {current: [ids], done: [ids]})  -> Promise<viewer>
 *   XinYiPiBpmn.loadDiagram(container, url, {current, done, messages})          -> Promise<viewer|null>
 *
 * Markers: `xyp-current` on the current step(s), `xyp-done` on completed ones. Ids that are not
 * in the diagram are ignored (a case may be on an older version of the process).
 * User-visible strings are Chinese by default; pages pass translated ones in `opts.messages`.
 */
import NavigatedViewer from 'bpmn-js/lib/NavigatedViewer';

import 'bpmn-js/dist/assets/diagram-js.css';
import 'bpmn-js/dist/assets/bpmn-js.css';
import './diagram.css';

const DEFAULT_MESSAGES = {
  loading: '流程图加载中…',
  failed: '流程图加载失败：',
  http: '服务器返回 %(status)s',
  crossOrigin: '只能加载本站的流程图',
  network: '网络错误，请检查网络后重试',
  invalid: '不是有效的 BPMN 流程图（%(detail)s）',
  label: '流程图',
  current: '当前步骤：%(names)s',
};

function messagesOf(opts) {
  return Object.assign({}, DEFAULT_MESSAGES, (opts && opts.messages) || {});
}

function format(template, values) {
  return template.replace(/%\((\w+)\)s/g, (all, key) => (key in values ? String(values[key]) : all));
}

function resolveContainer(container) {
  const element = typeof container === 'string' ? document.querySelector(container) : container;
  if (!element) {
    throw new Error('XinYiPiBpmn: container not found: ' + container);
  }
  return element;
}

function idList(value) {
  if (!value) return [];
  return (Array.isArray(value) ? value : [value]).map(String);
}

function destroyPrevious(element) {
  if (element._xypViewer) {
    element._xypViewer.destroy();
    element._xypViewer = null;
  }
  element.replaceChildren();
  element.classList.remove('xyp-diagram-failed');
}

function showError(element, opts, reason) {
  const messages = messagesOf(opts);
  destroyPrevious(element);
  element.classList.add('xyp-diagram-failed');
  element.removeAttribute('aria-busy');
  // role="img" hides its children from assistive technology: the error must be read out.
  element.removeAttribute('role');
  const p = document.createElement('p');
  p.className = 'xyp-diagram-error';
  p.setAttribute('role', 'alert');
  p.textContent = messages.failed + reason;
  element.appendChild(p);
}

function reasonOf(error) {
  return (error && (error.xypReason || error.message)) || String(error);
}

/** Render `xmlText` into `container`; resolves with the viewer, rejects when the XML cannot be imported. */
async function showDiagram(container, xmlText, opts) {
  opts = opts || {};
  const element = resolveContainer(container);
  const messages = messagesOf(opts);
  destroyPrevious(element);
  element.classList.add('xyp-diagram');
  element.setAttribute('aria-busy', 'true');

  const viewer = new NavigatedViewer({ container: element });
  element._xypViewer = viewer;
  try {
    await viewer.importXML(xmlText);
  } catch (error) {
    viewer.destroy();
    element._xypViewer = null;
    element.removeAttribute('aria-busy');
    throw error;
  }

  const canvas = viewer.get('canvas');
  const registry = viewer.get('elementRegistry');
  const present = (id) => !!registry.get(id);
  const done = idList(opts.done).filter(present);
  const current = idList(opts.current).filter(present);
  done.forEach((id) => canvas.addMarker(id, 'xyp-done'));
  current.forEach((id) => canvas.addMarker(id, 'xyp-current'));
  canvas.zoom('fit-viewport', 'auto');

  const names = current.map((id) => registry.get(id).businessObject.name || id);
  const label = element.getAttribute('aria-label') || messages.label;
  if (names.length && element.getAttribute('role') === 'img') {
    element.setAttribute('aria-label', label + '（' + format(messages.current, { names: names.join('、') }) + '）');
  }
  element.removeAttribute('aria-busy');
  return viewer;
}

/**
 * Fetch the XML from `url` (same origin only, with the user's cookies) and show it. Any failure
 * becomes a Chinese message inside the container; resolves with the viewer, or null on failure.
 */
async function loadDiagram(container, url, opts) {
  opts = opts || {};
  const element = resolveContainer(container);
  const messages = messagesOf(opts);
  destroyPrevious(element);
  element.setAttribute('aria-busy', 'true');
  const loading = document.createElement('p');
  loading.className = 'xyp-diagram-loading';
  loading.textContent = messages.loading;
  element.appendChild(loading);

  try {
    const target = new URL(url, window.location.href);
    if (target.origin !== window.location.origin) {
      throw Object.assign(new Error('cross-origin'), { xypReason: messages.crossOrigin });
    }
    let response;
    try {
      response = await fetch(target.href, {
        mode: 'same-origin',
        credentials: 'same-origin',
        headers: { Accept: 'application/xml, text/xml, */*' },
      });
    } catch (error) {
      throw Object.assign(new Error(error.message), { xypReason: messages.network });
    }
    if (!response.ok) {
      throw Object.assign(new Error('HTTP ' + response.status),
        { xypReason: format(messages.http, { status: response.status }) });
    }
    const xmlText = await response.text();
    try {
      return await showDiagram(element, xmlText, opts);
    } catch (error) {
      throw Object.assign(error, { xypReason: format(messages.invalid, { detail: error.message }) });
    }
  } catch (error) {
    showError(element, opts, reasonOf(error));
    if (window.console) console.error('XinYiPiBpmn.loadDiagram', url, error);
    return null;
  }
}

window.XinYiPiBpmn = { showDiagram, loadDiagram, version: 1 };
