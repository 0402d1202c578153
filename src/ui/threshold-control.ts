/**
 * The recognition threshold: the model's recommended value (calibrated with the model, or PaddleClas's 0.5
 * for imported models) unless the person sets their own, which is remembered in this browser and can be
 * handed back to the model with one click.
 */
import { DEFAULT_SCORE_THRESHOLD } from '../core/gallery-search.ts';
import { h } from './dom.ts';

const THRESHOLD_KEY = 'shitu-web.threshold';

export class ThresholdControl {
  readonly element: HTMLElement;
  private recommended = DEFAULT_SCORE_THRESHOLD;
  private recommendedFrom = "PaddleClas's default";
  private own: number | undefined;
  private readonly input = h('input', {
    type: 'number',
    min: 0,
    max: 1,
    step: 0.01,
    id: 'gallery-threshold',
    class: 'narrow',
    'data-testid': 'gallery-threshold',
  });
  private readonly note = h('span', { class: 'hint', 'data-testid': 'threshold-source' });
  private readonly reset = h('button', {
    type: 'button',
    class: 'link',
    text: "use the model's",
    'data-testid': 'threshold-reset',
  });

  constructor(
    private readonly onChange: () => void,
    private readonly say: (text: string) => void,
  ) {
    const saved = localStorage.getItem(THRESHOLD_KEY);
    this.own = saved !== null && Number(saved) >= 0 && Number(saved) <= 1 ? Number(saved) : undefined;
    this.input.addEventListener('change', () =>
      this.set(this.input.value === '' ? undefined : Number(this.input.value)),
    );
    this.reset.addEventListener('click', () => this.set(undefined));
    this.element = h(
      'span',
      { class: 'threshold' },
      h('label', { for: 'gallery-threshold', text: 'Recognition threshold (cosine)' }),
      this.input,
      this.note,
      this.reset,
    );
    this.render();
  }

  get value(): number {
    return this.own ?? this.recommended;
  }

  /** The loaded model's recommendation; `from` says where it comes from, in a few words. */
  setRecommended(value: number, from: string): void {
    this.recommended = value;
    this.recommendedFrom = from;
    this.render();
  }

  private set(v: number | undefined): void {
    if (v !== undefined && !(v >= 0 && v <= 1)) {
      this.say('The threshold is a cosine similarity between 0 and 1.');
      this.render();
      return;
    }
    this.own = v;
    if (v === undefined) localStorage.removeItem(THRESHOLD_KEY);
    else localStorage.setItem(THRESHOLD_KEY, String(v));
    this.render();
    this.onChange();
  }

  private render(): void {
    this.input.value = String(this.value);
    this.input.dataset.own = String(this.own !== undefined);
    this.note.textContent =
      this.own === undefined
        ? `the model's recommendation (${this.recommendedFrom})`
        : `yours; the model recommends ${this.recommended}`;
    this.reset.hidden = this.own === undefined;
  }
}
