/**
 * Every option's default and validator, in one place (tfjs-models' `DEFAULT_*` beside `validate…()`): each
 * validator fills the defaults and throws OptionsError listing the valid values. The engine, the worker, the
 * page, the element and the scripts all read these.
 *   options/preprocess-options.ts  how an image becomes the network's input (DEFAULT_PREPROCESS)
 *   options/load-options.ts        load() and embed(): backend, batchSize, normalize, maxPixels, the default
 *                                  model's path; importModel()'s role (DEFAULT_LOAD_OPTIONS)
 *   options/fine-tune-options.ts   fineTune() (DEFAULT_FINE_TUNE_OPTIONS, FINE_TUNE_LIMITS)
 *   options/worker-options.ts      createEmbedder()'s workers and the rule `auto` follows (DEFAULT_WORKERS)
 */
export * from './options/preprocess-options.ts';
export * from './options/load-options.ts';
export * from './options/fine-tune-options.ts';
export * from './options/worker-options.ts';
