/**
 * The map, the gallery report and the near-duplicates as parts of <shitu-embedder>: each made the first time
 * its part is shown (an element that never shows them pays nothing), computed on the main thread
 * (MAIN_THREAD_INSIGHTS: fine for the few hundred images an element holds; the page uses workers).
 */
import type { GalleryEntry } from '../core/gallery-search.ts';
import { DuplicatesView } from './duplicates-view.ts';
import { EmbeddingMap } from './embedding-map.ts';
import { GalleryReportView } from './gallery-report-view.ts';
import { MAIN_THREAD_INSIGHTS } from './report-compute.ts';
import type { Card, Session } from './session.ts';
import type { ThumbnailUrls } from './thumbnails.ts';

export const INSIGHT_PARTS = ['map', 'report', 'duplicates'] as const;
export type InsightPart = (typeof INSIGHT_PARTS)[number];

export interface InsightsHost {
  readonly session: Session;
  readonly thumbs: ThumbnailUrls;
  /** The labelled vectors the report covers and the map's colours come from. */
  gallery(): readonly GalleryEntry[];
  /** The best gallery match's label for a card, when it reaches the threshold. */
  recognise(card: Card): string | undefined;
  threshold(): number;
  setThreshold(value: number): void;
  /** The map's lasso gave these cards a label and asked for them in the gallery. */
  addToGallery(cards: readonly Card[], label: string): void;
}

export class InsightViews {
  private map: EmbeddingMap | undefined;
  private report: GalleryReportView | undefined;

  constructor(
    private readonly parts: Record<InsightPart, HTMLElement>,
    private readonly host: InsightsHost,
  ) {}

  /** Makes the views of the parts shown, once each. */
  show(shown: readonly string[]): void {
    const { parts, host } = this;
    if (shown.includes('map') && !this.map) {
      this.map = new EmbeddingMap(parts.map, host.session, MAIN_THREAD_INSIGHTS, {
        classOf: (card) => card.label || host.recognise(card),
        gallery: true,
        onLabel: (cards, label, toGallery) => toGallery && host.addToGallery(cards, label),
      });
    }
    if (shown.includes('report') && !this.report) {
      this.report = new GalleryReportView(parts.report, MAIN_THREAD_INSIGHTS, {
        entries: () => [...host.gallery()],
        threshold: () => host.threshold(),
        useThreshold: (t) => host.setThreshold(t),
      });
      this.report.refresh();
    }
    if (shown.includes('duplicates') && !parts.duplicates.hasChildNodes()) {
      new DuplicatesView(parts.duplicates, host.session, host.thumbs, MAIN_THREAD_INSIGHTS);
    }
  }

  /** The gallery or the threshold changed. */
  galleryChanged(): void {
    this.map?.recolour();
    this.report?.refresh();
  }
}
