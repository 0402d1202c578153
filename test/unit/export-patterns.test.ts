/**
 * Every spelling the fixture writers produce, checked where it can be: ONNX fixtures run in onnxruntime-web
 * (wasm, in Node) against the plain TypeScript reference forward pass, at several scales, stride lists, with
 * and without last_conv, as PP-ShiTu feature extractors and as classifiers, at opsets 7 to 21; the graphs'
 * op forms per opset checked on the data before encoding; Paddle programs (2.x and 3.0) parsed back.
 */
import * as ort from 'onnxruntime-web';
import { describe, expect, it } from 'vitest';
import { OptionsError } from '../../src/core/errors.ts';
import type { StateDict } from '../../src/core/state-dict.ts';
import { normalSampler } from '../../src/core/seeded-random.ts';
import { DEFAULT_STRIDE_LIST, planPPLCNet, standardGeometry, type PPLCNetGeometry, type StrideHW } from '../../src/model/architecture.ts';
import type { NetworkSpec } from '../../src/model/parameters.ts';
import { DATA_TYPE } from '../../src/model/convert/onnx/onnx-proto.ts';
import { attr, parsePaddleProgram, savedVarNames, type PaddleOp } from '../../src/model/convert/paddle/paddle-program.ts';
import { readPaddleParams } from '../../src/model/convert/paddle/paddle-params.ts';
import type { OnnxModelSpec, OnnxNodeSpec } from '../support/onnx-encode.ts';
import { buildPPLCNetOnnx, encodeFixture, type ExportClassifier, type OnnxExportModel, type OnnxExportOptions } from './export-patterns.fixtures.ts';
import { buildPaddleInference, writePaddleInference, PADDLE_3_PROGRAM_VERSION } from '../support/paddle-export.ts';
import { randomNetworkStateDict, randomStateDict } from '../support/random-weights.ts';
import { referenceClassifier, referenceForward, type FeatureMap } from '../support/reference-forward.ts';

// Node has no cross-origin isolation, so ORT's threaded wasm would only warn and fall back: ask for one thread.
ort.env.wasm.numThreads = 1;
