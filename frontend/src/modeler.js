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
 * `camunda:formData` fields, the user-task forms of DESIGN.md §3.6.
 */
import BpmnModeler from 'bpmn-js/lib/Modeler';
import {
  BpmnPropertiesPanelModule,
  BpmnPropertiesProviderModule,
  CamundaPlatformPropertiesProviderModule,
} from 'bpmn-js-properties-panel';
import CamundaBehaviorsModule from 'camunda-bpmn-js-behaviors/lib/camunda-platform';
import camundaModdle from 'camunda-bpmn-moddle/resources/camunda.json';

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
  const modeler = new BpmnModeler({
    container: element(container, 'container'),
    propertiesPanel: { parent: element(propertiesContainer, 'properties container') },
    additionalModules: [
      BpmnPropertiesPanelModule,
      BpmnPropertiesProviderModule,
      CamundaPlatformPropertiesProviderModule,
      CamundaBehaviorsModule,
    ].concat(options.additionalModules || []),
    moddleExtensions: Object.assign({ camunda: camundaModdle }, options.moddleExtensions || {}),
  });
  if (xmlText) {
    modeler.xypImported = modeler.importXML(xmlText);
  }
  return modeler;
}

window.XinYiPiBpmnModeler = { create, version: 1 };
