-- SPDX-License-Identifier: MIT
-- pandoc filter for the manual pages: a two- or three-column table whose
-- first header cell is "option", "code", "command", "member" or "form"
-- (docs/*.[1-8].md) becomes a definition list, the usual shape of a man
-- page's OPTIONS, so long descriptions wrap at the terminal's width
-- instead of being squeezed into a table column. A three-column table's
-- middle cell goes in parentheses after the term.
local keys = { option = true, code = true, command = true, member = true,
  form = true }

function Table(tbl)
  local st = pandoc.utils.to_simple_table(tbl)
  if #st.headers ~= 2 and #st.headers ~= 3 then
    return nil
  end
  local head = pandoc.utils.stringify(st.headers[1]):lower()
  if not keys[head] then
    return nil
  end
  local items = {}
  for _, row in ipairs(st.rows) do
    local term = pandoc.utils.blocks_to_inlines(row[1])
    if #row == 3 then
      table.insert(term, pandoc.Space())
      table.insert(term, pandoc.Str("("))
      for _, i in ipairs(pandoc.utils.blocks_to_inlines(row[2])) do
        table.insert(term, i)
      end
      table.insert(term, pandoc.Str(")"))
    end
    table.insert(items, { term, { row[#row] } })
  end
  return pandoc.DefinitionList(items)
end

-- A "|" inside a table cell's code span is written "\|" in the Markdown
-- (the table's own escape); pandoc 2.17 keeps the backslash there.
function Code(c)
  c.text = c.text:gsub("\\|", "|")
  return c
end
