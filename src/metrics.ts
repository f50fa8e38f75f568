/**
 * A small Prometheus registry: counters, gauges and histograms with labels, rendered in the text exposition
 * format (version 0.0.4) for `GET /metrics`. Kept in-process and dependency-free; label values are escaped.
 */

type Labels = Record<string, string>;

interface Series {
  labels: Labels;
  value: number;
  buckets?: number[];
  sum?: number;
}

interface Family {
  name: string;
  help: string;
  type: "counter" | "gauge" | "histogram";
  bounds?: number[];
  series: Map<string, Series>;
  collect?: () => number;
}

function key(labels: Labels): string {
  return Object.keys(labels).sort().map((k) => `${k}=${labels[k]}`).join(",");
}

function escape(v: string): string {
  return v.replaceAll("\\", "\\\\").replaceAll("\n", "\\n").replaceAll('"', '\\"');
}

function renderLabels(labels: Labels, extra: Labels = {}): string {
  const all = { ...labels, ...extra };
  const parts = Object.keys(all).map((k) => `${k}="${escape(all[k])}"`);
  return parts.length ? `{${parts.join(",")}}` : "";
}

/** The metrics of one server; `render()` gives the Prometheus text. */
export interface Metrics {
  counter(name: string, help: string): (labels?: Labels, by?: number) => void;
  gauge(name: string, help: string, collect?: () => number): (value: number, labels?: Labels) => void;
  histogram(name: string, help: string, bounds: number[]): (value: number, labels?: Labels) => void;
  /** Current value of a counter/gauge series, or a histogram's observation count (tests and benchmarks). */
  read(name: string, labels?: Labels): number;
  /** Histogram bucket counts (non-cumulative) for one series, keyed by upper bound. */
  buckets(name: string, labels?: Labels): Map<number, number>;
  render(): string;
}

/** Creates an empty registry. Registering the same name twice returns the same family. */
export function createMetrics(): Metrics {
  const families = new Map<string, Family>();

  function family(name: string, help: string, type: Family["type"], bounds?: number[]): Family {
    let f = families.get(name);
    if (!f) {
      f = { name, help, type, bounds, series: new Map() };
      families.set(name, f);
    }
    return f;
  }

  function series(f: Family, labels: Labels): Series {
    const k = key(labels);
    let s = f.series.get(k);
    if (!s) {
      s = { labels, value: 0 };
      if (f.bounds) {
        s.buckets = new Array(f.bounds.length + 1).fill(0);
        s.sum = 0;
      }
      f.series.set(k, s);
    }
    return s;
  }

  return {
    counter(name, help) {
      const f = family(name, help, "counter");
      return (labels = {}, by = 1) => {
        series(f, labels).value += by;
      };
    },
    gauge(name, help, collect) {
      const f = family(name, help, "gauge");
      if (collect) f.collect = collect;
      return (value, labels = {}) => {
        series(f, labels).value = value;
      };
    },
    histogram(name, help, bounds) {
      const f = family(name, help, "histogram", [...bounds].sort((a, b) => a - b));
      return (value, labels = {}) => {
        const s = series(f, labels);
        const i = f.bounds!.findIndex((b) => value <= b);
        s.buckets![i < 0 ? f.bounds!.length : i]++;
        s.sum! += value;
        s.value++;
      };
    },
    read(name, labels = {}) {
      const f = families.get(name);
      if (!f) return 0;
      if (f.collect && Object.keys(labels).length === 0) return f.collect();
      return f.series.get(key(labels))?.value ?? 0;
    },
    buckets(name, labels = {}) {
      const out = new Map<number, number>();
      const f = families.get(name);
      const s = f?.series.get(key(labels));
      if (!f?.bounds || !s) return out;
      f.bounds.forEach((b, i) => out.set(b, s.buckets![i]));
      out.set(Infinity, s.buckets![f.bounds.length]);
      return out;
    },
    render() {
      const lines: string[] = [];
      for (const f of families.values()) {
        lines.push(`# HELP ${f.name} ${f.help}`, `# TYPE ${f.name} ${f.type}`);
        if (f.collect) lines.push(`${f.name} ${f.collect()}`);
        for (const s of f.series.values()) {
          if (f.type !== "histogram") {
            lines.push(`${f.name}${renderLabels(s.labels)} ${s.value}`);
            continue;
          }
          let cumulative = 0;
          f.bounds!.forEach((b, i) => {
            cumulative += s.buckets![i];
            lines.push(`${f.name}_bucket${renderLabels(s.labels, { le: String(b) })} ${cumulative}`);
          });
          lines.push(`${f.name}_bucket${renderLabels(s.labels, { le: "+Inf" })} ${s.value}`);
          lines.push(`${f.name}_sum${renderLabels(s.labels)} ${s.sum}`);
          lines.push(`${f.name}_count${renderLabels(s.labels)} ${s.value}`);
        }
      }
      return lines.join("\n") + "\n";
    },
  };
}
