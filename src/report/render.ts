// Renders the chart headless: vega-lite compiles to vega, a View with no DOM renderer writes SVG,
// resvg rasterises it for PNG.
import { Resvg } from "@resvg/resvg-js";
import { View, parse } from "vega";
import { compile, type TopLevelSpec } from "vega-lite";

export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const vg = compile(spec).spec;
  const view = new View(parse(vg), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

export function svgToPng(svg: string, scale = 2): Buffer {
  const r = new Resvg(svg, { fitTo: { mode: "zoom", value: scale }, background: "white", font: { loadSystemFonts: true } });
  return r.render().asPng();
}
