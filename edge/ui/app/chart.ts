/** A small uPlot line chart of the last minutes; sized to its container, redrawn as samples arrive. */
import uPlot from 'uplot'
import { html, useEffect, useRef } from './html.ts'

/** The span the chart shows, in seconds. */
const WINDOW_S = 600

export function Spark ({ label, xs, ys, unit }: { label: string; xs: number[]; ys: number[]; unit: string }) {
  const box = useRef<HTMLDivElement>(null)
  const plot = useRef<uPlot | null>(null)

  useEffect(() => {
    const el = box.current!
    const width = (): number => Math.max(200, el.clientWidth)
    plot.current = new uPlot({
      width: width(),
      height: 140,
      legend: { show: false },
      cursor: { show: false },
      // A fixed window of the last minutes, so one sample does not stretch the axis over years.
      scales: { x: { time: true, range: (_u, _min, max) => [max - WINDOW_S, max] }, y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.1)] } },
      axes: [{ stroke: 'currentColor', grid: { show: false } }, { stroke: 'currentColor', size: 44, grid: { stroke: 'rgba(128,128,128,0.2)' } }],
      series: [{}, { label, stroke: '#2f6fed', width: 2, fill: 'rgba(47,111,237,0.12)' }],
    }, [xs, ys], el)
    const ro = new ResizeObserver(() => { plot.current?.setSize({ width: width(), height: 140 }) })
    ro.observe(el)
    return () => { ro.disconnect(); plot.current?.destroy(); plot.current = null }
  }, [])

  useEffect(() => { plot.current?.setData([xs, ys]) }, [xs, ys])

  const last = ys.length > 0 ? ys[ys.length - 1] : undefined
  return html`<figure class="chart">
    <figcaption>${label}: <strong>${last === undefined ? '—' : `${Math.round(last * 10) / 10} ${unit}`}</strong></figcaption>
    <div ref=${box} role="img" aria-label=${`${label}, last ${Math.round(((xs[xs.length - 1] ?? 0) - (xs[0] ?? 0)) / 60)} minutes`}></div>
  </figure>`
}
