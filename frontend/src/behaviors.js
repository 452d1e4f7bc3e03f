/*
 * 信易批 · 建模器行为：让属性面板和建模器写出的 XML 就是引擎读取的 XML。
 *
 * - 新建（或替换成）的脚本任务带 scriptFormat="python"：引擎按 Python 执行脚本，
 *   Camunda Modeler 也要求脚本任务写明格式；设计人员改成别的格式时，校验会报错。
 * - `stampExporter(modeler)`：导出和保存前在 bpmn:definitions 上写明导出者，并补上 Camunda Modeler
 *   据以选择执行平台（Camunda 7）的 modeler:executionPlatform 属性（已有的不改）。
 */
import CommandInterceptor from 'diagram-js/lib/command/CommandInterceptor';
import { is } from 'bpmn-js/lib/util/ModelUtil';

export const EXPORTER = 'xinyipi';
export const EXPORTER_VERSION = '1';
const MODELER_NS = 'http://camunda.org/schema/modeler/1.0';

class ScriptFormatBehavior extends CommandInterceptor {
  constructor(eventBus, modeling) {
    super(eventBus);
    this.postExecuted('shape.create', (context) => {
      const shape = context.shape;
      if (shape && is(shape, 'bpmn:ScriptTask') && !shape.businessObject.get('scriptFormat')) {
        modeling.updateProperties(shape, { scriptFormat: 'python' });
      }
    }, true);
  }
}
ScriptFormatBehavior.$inject = ['eventBus', 'modeling'];

export const XinYiPiBehaviorsModule = {
  __init__: ['xypScriptFormatBehavior'],
  xypScriptFormatBehavior: ['type', ScriptFormatBehavior],
};

/** Mark the document as ours and keep it opening as a Camunda 7 diagram in Camunda Modeler. */
export function stampExporter(modeler) {
  const definitions = modeler.getDefinitions();
  if (!definitions) return;
  definitions.set('exporter', EXPORTER);
  definitions.set('exporterVersion', EXPORTER_VERSION);
  const attrs = definitions.$attrs;
  const prefix = Object.keys(attrs).find((k) => k.startsWith('xmlns:') && attrs[k] === MODELER_NS);
  const name = prefix ? prefix.slice(6) : 'modeler';
  if (!prefix) attrs['xmlns:modeler'] = MODELER_NS;
  if (!attrs[name + ':executionPlatform']) {
    attrs[name + ':executionPlatform'] = 'Camunda Platform';
    attrs[name + ':executionPlatformVersion'] = '7.21.0';
  }
}
