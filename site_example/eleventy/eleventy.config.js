// postkin's Eleventy example ("Field Notes"): the posts collection is the tag `posts` (src/posts/posts.json),
// postkin writes src/_data/postkin/ before each build (make example-eleventy, or `postkin build --watch`
// beside `eleventy --serve`), and the post layouts include hooks/templates/eleventy/_includes/postkin-related.*.
import { HtmlBasePlugin } from "@11ty/eleventy";

export default function (eleventyConfig) {
	// The documented drafts recipe (eleventy-base-blog): drafts exist under --serve only.
	eleventyConfig.addPreprocessor("drafts", "*", (data) => {
		if (data.draft && process.env.ELEVENTY_RUN_MODE === "build") {
			return false;
		}
	});
	// Adds pathPrefix to every link in the HTML (postkin's include then leaves links as they are).
	eleventyConfig.addPlugin(HtmlBasePlugin);
	// postkin's data folder is gitignored, and `eleventy --serve` does not watch gitignored files:
	// read .gitignore no more (node_modules and _site are ignored anyway) so edits reload the page.
	eleventyConfig.setUseGitIgnore(false);
	eleventyConfig.addFilter("isoDate", (date) => date.toISOString().slice(0, 10));
}

export const config = {
	dir: { input: "src", output: "_site" },
	pathPrefix: "/field-notes/",
};
