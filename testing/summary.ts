/** One table of a job summary as @actions/core writes it: its heading, its rows (header first), its footer. */
export interface SummaryTableText {
  readonly heading: string
  readonly rows: string[][]
  readonly footer?: string
}

/**
 * The tables of a job summary's HTML (each `<h3>` heading, its `<table>` and the `<p>` after it), as text: tags dropped,
 * entities read back.
 */
export function summaryTables(html: string): SummaryTableText[] {
  const tables: SummaryTableText[] = []
  let heading = ''
  for (const [, tag, body] of html.matchAll(/<(h\d|table|p)>([\s\S]*?)<\/\1>/g)) {
    if (tag === 'table') {
      // An empty cell is written `<td>`, without its closing tag (@actions/core's summary.wrap).
      const rows = [...body.matchAll(/<tr>(.*?)<\/tr>/g)].map((row) =>
        row[1]
          .split(/<t[hd][^>]*>/)
          .slice(1)
          .map((cell) => text(cell))
      )
      tables.push({ heading, rows })
    } else if (tag === 'p' && tables.length) {
      tables.push({ ...tables.pop()!, footer: text(body) })
    } else {
      heading = text(body)
    }
  }
  return tables
}

function text(cell: string): string {
  return cell
    .replace(/<[^>]+>/g, '')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&')
    .trim()
}
