// Text as the reference pipeline reads it: Python's text mode turns "\r\n" and lone "\r" into "\n"
// (wikitext2-test.txt has 2,891 "\r"; without this its token count is off by exactly that many).

export function universalNewlines(text: string): string {
  return text.replace(/\r\n?/g, "\n");
}
