// Masking: strategies for single values, the DataRow and COPY rewriters that
// apply them to result streams, and content detectors for free text.

export {
  maskText,
  maskField,
  maskStrategies,
  isMaskStrategy,
  textLikeTypeOids,
  REDACTED,
  type MaskStrategy,
  type MaskRule,
} from './strategies.ts';
export { RowMasker, type ColumnMask } from './row-masker.ts';
export { CopyMasker, type CopyOptions } from './copy-masker.ts';
export { scrubText, detectors, isDetector, luhnValid, SECRET, type Detector } from './detectors.ts';
