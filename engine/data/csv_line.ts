// One CSV record (RFC 4180 quoting: "a ""quoted"" field", commas inside quotes).
// A record whose quotes are still open at the end of a line continues on the
// next line; the caller feeds lines until `complete` is true.

export interface CsvParse {
  fields: string[];
  /** False while a quoted field is still open (the record spans lines). */
  complete: boolean;
}

export function parseCsvRecord(text: string): CsvParse {
  const fields: string[] = [];
  let field = "";
  let inQuotes = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inQuotes) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else inQuotes = false;
      } else field += c;
    } else if (c === '"' && field.trim() === "") {
      inQuotes = true;
      field = "";
    } else if (c === ",") {
      fields.push(field.trim());
      field = "";
    } else field += c;
  }
  fields.push(field.trim());
  return { fields, complete: !inQuotes };
}
