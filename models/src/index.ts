export {
  inspectModelFolder,
  type LayoutFiles,
  layoutFiles,
  MODEL_LAYOUTS,
  MODEL_VARIANTS,
  type ModelFolderReport,
  type ModelLayout,
  type ModelVariant,
  resolveModelDir,
} from './model-layout.ts';
export { checkOnnxRuntime, type RuntimeCheck } from './runtime-check.ts';
