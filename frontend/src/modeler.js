/*
 * 信易批 · BPMN 建模器 (bpmn-js Modeler + properties panel with the Camunda platform provider),
 * bundled by ../build.mjs into plugin/static/vendor/bpmn-modeler.js (+ bpmn-modeler.css).
 *
 *   const modeler = XinYiPiBpmnModeler.create(container, propertiesContainer, xmlText, options)
 *
 * Returns the bpmn-js Modeler. When `xmlText` is given its import starts at once and
 * `modeler.xypImported` is the Promise of that import ({warnings}); otherwise call
 * `modeler.importXML(…)` yourself. `options.additionalModules` (e.g. a translate module) and
 * `options.moddleExtensions` are added to ours. The camunda moddle lets the panel edit
 * `camunda:formData` fields, the user-task forms of DESIGN.md §3.6. `options.locale` 'zh_CN' (or
 * 'zh') gives the palette, context pad, menus and properties panel in Chinese (./translate-zh.js).
 * Our behaviours (./behaviors.js) keep what the panel writes what the engine reads.
 *
 *   XinYiPiBpmnModeler.designer(config)   the admin's designer page (./designer.js)
 */
import BpmnModeler from 'bpmn-js/lib/Modeler';
import {
  BpmnPropertiesPanelModule,
  BpmnPropertiesProviderModule,
  CamundaPlatformPropertiesProviderModule,
} from 'bpmn-js-properties-panel';
import CamundaBehaviorsModule from 'camunda-bpmn-js-behaviors/lib/camunda-platform';
import camundaModdle from 'camunda-bpmn-moddle/resources/camunda.json';

import { XinYiPiBehaviorsModule } from './behaviors';
import { designer } from './designer';
import { ZH_CN, translateModule } from './translate-zh';

import 'bpmn-js/dist/assets/diagram-js.css';
import 'bpmn-js/dist/assets/bpmn-js.css';
import 'bpmn-js/dist/assets/bpmn-font/css/bpmn-embedded.css';
import '@bpmn-io/properties-panel/dist/assets/properties-panel.css';
import './diagram.css';

function element(value, what) {
  const found = typeof value === 'string' ? document.querySelector(value) : value;
  if (!found) {
    throw new Error('XinYiPiBpmnModeler: ' + what + ' not found: ' + value);
  }
  return found;
}

function create(container, propertiesContainer, xmlText, options) {
  options = options || {};
  const locale = String(options.locale || '');
  const own = [XinYiPiBehaviorsModule];
  if (locale.startsWith('zh')) {
    own.push(translateModule(ZH_CN));
    element(propertiesContainer, 'properties container').classList.add('xyp-lang-zh');
  }
  const modeler = new BpmnModeler({
    container: element(container, 'container'),
    propertiesPanel: { parent: element(propertiesContainer, 'properties container') },
    additionalModules: [
      BpmnPropertiesPanelModule,
      BpmnPropertiesProviderModule,
      CamundaPlatformPropertiesProviderModule,
      CamundaBehaviorsModule,
    ].concat(own, options.additionalModules || []),
    moddleExtensions: Object.assign({ camunda: camundaModdle }, options.moddleExtensions || {}),
  });
  if (xmlText) {
    modeler.xypImported = modeler.importXML(xmlText);
  }
  return modeler;
}

window.XinYiPiBpmnModeler = {
  create,
  designer: (config) => designer(create, Object.assign({}, config, {
    modelerOptions: Object.assign({ locale: config.locale }, config.modelerOptions || {}),
  })),
  version: 2,
};
