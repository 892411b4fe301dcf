/**
 * Mermaid's own parser, in Node: the `mermaid` package parses in Node once DOMPurify (which it
 * runs over labels) has a DOM, so a jsdom window is installed before it is imported. Its
 * `getDiagramFromText(...).db.getData()` is what the renderer draws: nodes with their parents,
 * and edges.
 */
import { JSDOM } from 'jsdom';

export interface MermaidNode {
  id: string;
  label?: string;
  isGroup: boolean;
  parentId?: string;
}
export interface MermaidEdge {
  start: string;
  end: string;
  label?: string;
}

let loaded: Promise<any> | undefined;

function load(): Promise<any> {
  loaded ??= (async () => {
    const g = globalThis as { window?: unknown };
    g.window ??= new JSDOM('').window;
    const { default: mermaid } = await import('mermaid');
    return mermaid;
  })();
  return loaded;
}

/** Parse a diagram; throws Mermaid's parse error. Returns the diagram type and what it draws. */
export async function parseMermaid(text: string): Promise<{ type: string; nodes: MermaidNode[]; edges: MermaidEdge[] }> {
  const mermaid = await load();
  const res = await mermaid.parse(text);
  const diagram = await mermaid.mermaidAPI.getDiagramFromText(text);
  const data = diagram.db.getData();
  return { type: res.diagramType, nodes: data.nodes, edges: data.edges };
}
